"""``ProcessRunner``: turns run in worker processes, outside the process that acks Slack.

Why: a turn (engine + rendering) is CPU-bound Python. On threads of the acking process it
holds the GIL while 50 concurrent acks wait (bench/bench_slack.py: ack p99 85-173 ms). Here
the acking process only parses, verifies, queues and answers; ``workers`` spawned processes
(the ``spawn`` start method: no forked locks or sockets) each build their own knowledge
base, matcher, engine, store connection and Web API client from the same settings, and run
the jobs they are sent on a small ``KeyedThreadPool`` (``bot.slack.delivery.worker_process``).
Workers run at a higher niceness, so under load the acks get the CPU first.

Guarantees, as with the in-process runner:

* **Order per thread.** A job's key (the Slack thread) picks its worker with a stable hash,
  so one thread's turns always go to the same worker, in submission order, where the
  keyed pool runs them one at a time. Across replicas the store's row lock serialises them.
* **Dedupe.** At the ack: the inbox insert (``InboxTable.enqueue``) drops a delivery already
  there. Only a job run in memory because the inbox could not be written is deduplicated
  as before, by the worker's ``store.claim_event``.
* **Bounded queue, back-pressure that never blocks the ack.** ``submit`` only appends to an
  in-memory deque; when a worker already has ``queue_size`` turns queued or running, it
  returns False at once and the caller (``TriageBot.submit``) refuses the turn: counted in
  ``nginx_triage_turns_rejected_total``, logged with the thread and event id, and the user
  is told "busy, send it again" where the bot may speak (never in a channel thread it may
  not be part of). Turns are not retried later: the process would need an unbounded or
  durable queue for that, and a refused turn whose event was never claimed can still be
  answered if Slack redelivers it.
* **Durability.** Jobs from the acking process are already in the inbox
  (``bot.slack.delivery.inbox``); ``set_finish_listener`` tells it when a job finished or was lost.
* **Crash -> restart.** Each worker has a supervisor thread. When the worker's pipe reaches
  EOF (it died: OOM kill, segfault, SIGKILL), every job it had been sent and not finished is
  logged as lost (thread, event id, kind) and counted in ``nginx_triage_turns_lost_total``;
  the process is restarted (backing off when it keeps dying at start-up). Jobs still queued
  in the parent were never sent, so they go to the new worker. At most ``credit`` jobs per
  worker can be lost this way: the parent only sends more when earlier ones finish.
  A lost turn taken from the inbox is handed back to it (``InboxTable.fail``): the recovery
  loop runs it again, up to ``INBOX_MAX_ATTEMPTS`` times, so a turn that crashes every
  worker cannot loop forever.
* **Budgets.** A worker whose resident memory passes ``worker_memory_mb`` while it runs
  turns leaves at once and says so; a turn still running after ``turn_hard_s`` gets its
  worker killed. Either way the worker is replaced (``nginx_triage_workers_replaced_total``,
  and /readyz says so until the new one is ready), the turns that were running are answered
  with a note by the ``set_budget_listener`` callback and marked done (the same paste would
  only do it again), and turns merely queued there are retried like any lost turn.
* **Graceful shutdown.** ``shutdown(timeout)`` refuses new jobs, waits (bounded) until every
  queue is empty and every worker is idle, then sends "stop"; a worker still busy after the
  deadline is killed. Workers ignore SIGTERM/SIGINT (systemd's control-group kill, a
  terminal's Ctrl-C) and take orders from the parent; if the parent dies, they finish
  their jobs and exit on the pipe's EOF.
* **Metrics.** Workers buffer counter increments and histogram observations
  (``bot.slack.metrics``) and send them with each finished job; the parent replays them,
  so its ``/metrics`` shows the totals of all workers, past and present.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import pickle
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from bot.slack.delivery.dispatcher import BudgetListener, FinishListener
from bot.slack.delivery.jobs import Job
from bot.slack.delivery.worker_process import worker_main
from bot.slack.logs import logging_context
from bot.slack.metrics import (
    STRUCTURE_BOUND,
    STRUCTURE_ITEMS,
    TURNS_IN_FLIGHT,
    TURNS_LOST,
    WORKER_RESTARTS,
    WORKERS_READY,
    WORKERS_REPLACED,
    apply_ops,
)
from bot.slack.settings import SlackSettings

log = logging.getLogger("nginx_triage.slack.workers")

START_METHOD = "spawn"
RESTART_BACKOFF_MAX_S = 30.0
BUDGET_CHECK_S = 1.0
"""How often the parent looks for a turn past ``turn_hard_s``."""
QUICK_DEATH_S = 10.0
"""A worker dying sooner than this after it started counts towards the restart backoff."""


def route(key: str | None, workers: int) -> int | None:
    """The worker for a key: a stable hash (the same in every process and every run); None for no key."""
    if key is None:
        return None
    return zlib.crc32(key.encode("utf-8")) % workers


@dataclass
class _Slot:
    """One worker: its process, pipe, queue of unsent jobs and jobs sent but not finished."""

    index: int
    queue: deque[tuple[int, Job]] = field(default_factory=deque)
    in_flight: dict[int, Job] = field(default_factory=dict)
    process: BaseProcess | None = None
    conn: Connection | None = None
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    ready: bool = False
    pid: int | None = None
    last_error: str | None = "starting"
    threads: list[threading.Thread] = field(default_factory=list)
    sent_at: dict[int, float] = field(default_factory=dict)
    over_budget: tuple[str, str, list[int]] | None = None
    """(budget, what happened, job ids over it) once this worker is being replaced for a budget."""
    replacing: str | None = None
    """Why this worker is being replaced, until its successor is ready (for /readyz)."""

    @property
    def load(self) -> int:
        return len(self.queue) + len(self.in_flight)


class ProcessRunner:
    """Dispatches jobs to worker processes (see the module docstring for the guarantees)."""

    def __init__(self, settings: SlackSettings, *, start_method: str = START_METHOD) -> None:
        self.settings = settings
        self._mp: SpawnContext | ForkServerContext = (
            multiprocessing.get_context("forkserver")
            if start_method == "forkserver"
            else multiprocessing.get_context("spawn")
        )
        self._capacity = settings.queue_size
        self._credit = max(1, settings.worker_threads) * 2
        self._slots = [_Slot(i) for i in range(max(1, settings.workers))]
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._pending = 0
        self._accepting = True
        self._closed = threading.Event()
        self._started = False
        self._all_ready_once = False
        self._on_finished: FinishListener | None = None
        self._on_budget: BudgetListener | None = None

    def set_budget_listener(self, listener: BudgetListener | None) -> None:
        """Call ``listener(job, budget, what)`` for a turn stopped by a budget (then it is done)."""
        self._on_budget = listener

    def set_finish_listener(self, listener: FinishListener | None) -> None:
        """Call ``listener(job, ran)`` when a job finished (True) or was lost with its worker (False)."""
        self._on_finished = listener

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> ProcessRunner:
        """Spawn the workers (in the background: /healthz answers while they load)."""
        if self._started:
            return self
        self._started = True
        for slot in self._slots:
            for target, name in ((self._supervise, "supervisor"), (self._send_loop, "sender")):
                thread = threading.Thread(
                    target=target, args=(slot,), name=f"nginx-triage-w{slot.index}-{name}", daemon=True
                )
                slot.threads.append(thread)
                thread.start()
        threading.Thread(target=self._watch_time, name="nginx-triage-turn-deadline", daemon=True).start()
        return self

    def worker_pids(self) -> list[int | None]:
        """The pid of each worker (None while one is starting)."""
        with self._lock:
            return [slot.pid if slot.ready else None for slot in self._slots]

    def wait_ready(self, timeout: float) -> bool:
        """Wait (bounded) until every worker is ready."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not all(slot.ready for slot in self._slots):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def why_not_ready(self) -> str | None:
        """None once every worker has started and at least one is up; else why not."""
        with self._lock:
            replacing = [slot.replacing for slot in self._slots if slot.replacing]
            if replacing:
                return "; ".join(replacing)
            ready = sum(slot.ready for slot in self._slots)
            if ready and (self._all_ready_once or ready == len(self._slots)):
                self._all_ready_once = True
                return None
            errors = sorted({slot.last_error for slot in self._slots if not slot.ready and slot.last_error})
        why = f"{ready} of {len(self._slots)} turn worker processes ready"
        return f"{why} ({'; '.join(errors)})" if errors else why

    # -- submitting -------------------------------------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queue ``job`` for its worker; never blocks. False when that worker's queue is full."""
        with self._lock:
            if not self._accepting:
                return False
            index = route(job.key, len(self._slots))
            slot = min(self._slots, key=lambda s: s.load) if index is None else self._slots[index]
            if slot.load >= self._capacity:
                return False
            slot.queue.append((next(self._ids), job))
            self._pending += 1
            self._lock.notify_all()
        TURNS_IN_FLIGHT.inc()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running in any worker; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Refuse new jobs, drain the queues (bounded), stop the workers; False when jobs were cut off."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._accepting = False
        idle = self.wait_idle(timeout)
        with self._lock:
            dropped = [(slot.index, job) for slot in self._slots for _, job in slot.queue]
            for slot in self._slots:
                slot.queue.clear()
            self._pending -= len(dropped)
            self._closed.set()
            self._lock.notify_all()
        for index, job in dropped:
            TURNS_IN_FLIGHT.dec()
            with logging_context(**job.describe()):
                log.error("shutting down: a queued turn was never run", extra={"worker": index})
        for slot in self._slots:
            self._send(slot, ("stop",))
        for slot in self._slots:
            process = slot.process
            if process is None:
                continue
            process.join(max(1.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("turn worker %d did not stop in time; killing it", slot.index)
                process.kill()
                process.join(5)
        for slot in self._slots:
            for thread in slot.threads:
                thread.join(5)
        return idle and not dropped

    # -- internals --------------------------------------------------------------------------------

    def _send(self, slot: _Slot, message: tuple[Any, ...]) -> bool:
        conn = slot.conn
        if conn is None:
            return False
        with slot.send_lock:
            try:
                conn.send(message)
                return True
            except (OSError, ValueError):
                return False

    def _send_loop(self, slot: _Slot) -> None:
        """Send queued jobs to the worker while it has fewer than ``credit`` in hand."""
        while True:
            with self._lock:
                while not self._closed.is_set() and not (
                    slot.queue and slot.ready and len(slot.in_flight) < self._credit
                ):
                    self._lock.wait()
                if self._closed.is_set():
                    return
                job_id, job = slot.queue.popleft()
                slot.in_flight[job_id] = job
                slot.sent_at[job_id] = time.monotonic()
            try:
                data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                with logging_context(**job.describe()):
                    log.exception("a job could not be sent to a worker process; dropped")
                self._finish(slot, job_id)
                continue
            if not self._send(slot, ("job", job_id, data)):
                # The worker died before it got this job: first in line for its successor.
                with self._lock:
                    slot.sent_at.pop(job_id, None)
                    if slot.in_flight.pop(job_id, None) is not None:
                        slot.queue.appendleft((job_id, job))

    def _finish(self, slot: _Slot, job_id: int) -> None:
        with self._lock:
            job = slot.in_flight.pop(job_id, None)
            slot.sent_at.pop(job_id, None)
            if job is None:
                return
            self._pending -= 1
            self._lock.notify_all()
        TURNS_IN_FLIGHT.dec()
        self._notify(job, True)

    def _notify(self, job: Job, ran: bool) -> None:
        listener = self._on_finished
        if listener is None:
            return
        try:
            listener(job, ran)
        except Exception:  # a listener's failure must not take the supervisor down
            with logging_context(**job.describe()):
                log.exception("the job-finished listener failed")

    def _spawn(self, slot: _Slot) -> Connection:
        parent_end, child_end = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=worker_main,
            args=(slot.index, self.settings, child_end),
            name=f"nginx-triage-worker-{slot.index}",
            daemon=True,
        )
        process.start()
        child_end.close()  # only the child holds it now, so its death reads as EOF here
        with self._lock:
            slot.process = process
            slot.conn = parent_end
        return parent_end

    def _supervise(self, slot: _Slot) -> None:
        """Start the worker, read what it reports, restart it when it dies (until closed)."""
        quick_deaths = 0
        while not self._closed.is_set():
            started = time.monotonic()
            try:
                conn = self._spawn(slot)
            except OSError as exc:
                log.error("cannot start turn worker %d: %s", slot.index, exc)
                slot.last_error = f"cannot start a worker process: {exc}"
                self._closed.wait(min(RESTART_BACKOFF_MAX_S, 2.0**quick_deaths))
                quick_deaths += 1
                continue
            self._receive(slot, conn)
            process = slot.process
            if process is not None:
                process.join(5)
            exit_code = process.exitcode if process is not None else None
            conn.close()
            with self._lock:
                was_ready = slot.ready
                slot.ready = False
                slot.conn = None
                budget, slot.over_budget = slot.over_budget, None
                stopped_ids = set(budget[2]) if budget is not None else set()
                stopped = [job for job_id, job in slot.in_flight.items() if job_id in stopped_ids]
                lost = [job for job_id, job in slot.in_flight.items() if job_id not in stopped_ids]
                slot.in_flight.clear()
                slot.sent_at.clear()
                self._pending -= len(lost) + len(stopped)
                if budget is not None:
                    slot.replacing = f"worker {slot.index} replaced: {budget[1]}"
                self._lock.notify_all()
            WORKERS_READY.set(sum(s.ready for s in self._slots))
            if budget is not None:
                WORKERS_REPLACED.labels(budget=budget[0]).inc()
                log.error(
                    "turn worker %d replaced: %s",
                    slot.index,
                    budget[1],
                    extra={"worker": slot.index, "budget": budget[0], "stopped_turns": len(stopped)},
                )
            for job in stopped:
                TURNS_IN_FLIGHT.dec()
                self._tell_budget(job, budget)
                self._notify(job, True)  # answered with the note: done, never retried
            for job in lost:
                TURNS_IN_FLIGHT.dec()
                TURNS_LOST.inc()
                with logging_context(**job.describe()):
                    log.error(
                        "turn lost: its worker process died while running it",
                        extra={"worker": slot.index, "exit_code": exit_code},
                    )
                self._notify(job, False)  # the inbox hands it back for a retry (bounded attempts)
            if self._closed.is_set():
                log.info("turn worker %d stopped", slot.index, extra={"exit_code": exit_code})
                return
            WORKER_RESTARTS.inc()
            if slot.last_error in (None, "starting") or was_ready:
                slot.last_error = f"worker {slot.index} died (exit code {exit_code}); restarting"
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_S else 0
            delay = min(RESTART_BACKOFF_MAX_S, 0.5 * 2.0 ** (quick_deaths - 1)) if quick_deaths > 1 else 0.0
            log.error(
                "turn worker %d died (exit code %s); restarting%s",
                slot.index,
                exit_code,
                f" in {delay:.1f} s" if delay else "",
                extra={"worker": slot.index, "exit_code": exit_code, "lost_turns": len(lost)},
            )
            self._closed.wait(delay)

    def _receive(self, slot: _Slot, conn: Connection) -> None:
        """Handle the worker's messages until its pipe closes."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            kind = message[0]
            if kind == "ready":
                with self._lock:
                    slot.ready = True
                    slot.pid = int(message[1])
                    slot.last_error = None
                    slot.replacing = None
                    self._lock.notify_all()
                WORKERS_READY.set(sum(s.ready for s in self._slots))
            elif kind == "done":
                apply_ops(message[2])
                if len(message) > 3:
                    self._gauge_sizes(slot, message[3])
                self._finish(slot, int(message[1]))
            elif kind == "bye":
                apply_ops(message[1])
            elif kind == "over_budget":
                with self._lock:
                    slot.over_budget = (str(message[1]), str(message[2]), [int(i) for i in message[3]])
            elif kind == "failed":
                slot.last_error = f"worker {slot.index} could not start: {message[1]}"

    def _gauge_sizes(self, slot: _Slot, sizes: object) -> None:
        """Show each worker cache's size and bound (``nginx_triage_structure_items{structure=
        "matcher_heads_w0"}``): the label set is bounded by the caches and the workers."""
        if not isinstance(sizes, dict):
            return
        for name, value in list(sizes.items())[:8]:
            if isinstance(name, str) and isinstance(value, tuple) and len(value) == 2:
                label = f"{name[:40]}_w{slot.index}"
                STRUCTURE_ITEMS.labels(structure=label).set(float(value[0]))
                STRUCTURE_BOUND.labels(structure=label).set(float(value[1]))

    # -- budgets ----------------------------------------------------------------------------------

    def _watch_time(self) -> None:
        """Kill a worker holding a turn past ``turn_hard_s``: the engine's own budget answers long
        before, so only a turn stuck where Python cannot interrupt it (a C call) gets here."""
        limit = self.settings.turn_hard_s
        while not self._closed.wait(BUDGET_CHECK_S):
            now = time.monotonic()
            for slot in self._slots:
                with self._lock:
                    late = [job_id for job_id, sent in slot.sent_at.items() if now - sent > limit]
                    process = slot.process
                    if not late or process is None or slot.over_budget is not None:
                        continue
                    slot.over_budget = ("time", f"a turn ran past {limit:g} s", late)
                log.error("a turn ran past %g s; killing its worker %d", limit, slot.index)
                process.kill()

    def _tell_budget(self, job: Job, budget: tuple[str, str, list[int]] | None) -> None:
        listener = self._on_budget
        if listener is None or budget is None:
            return
        try:
            listener(job, budget[0], budget[1])
        except Exception:  # a listener's failure must not take the supervisor down
            with logging_context(**job.describe()):
                log.exception("the budget listener failed")
