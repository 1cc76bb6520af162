"""One turn worker process (the child side of ``ProcessRunner``): it builds its own knowledge
base, engine, store connection and Web API client, then runs the jobs its parent sends over
the pipe on a ``KeyedThreadPool``, and reports each one finished (with its metrics).

Workers ignore SIGTERM/SIGINT and take orders from the parent; if the parent dies they
finish the jobs in hand and exit on the pipe's EOF.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import Job
from bot.slack.delivery.keyed_pool import KeyedThreadPool
from bot.slack.delivery.run_job import run_job
from bot.slack.logs import configure_logging
from bot.slack.metrics import drain, record_for_parent
from bot.slack.settings import SlackSettings

log = logging.getLogger("nginx_triage.slack.workers")

WORKER_STOP_GRACE_S = 10.0
"""How long a worker told to stop waits for its own jobs (the parent already waited for them)."""
MEMORY_CHECK_S = 0.2
"""How often a worker busy with turns looks at its resident memory."""
EXIT_OVER_BUDGET = 75
"""Exit code of a worker that left because a turn took it over its memory budget."""


def resident_mb() -> float | None:
    """This process's resident memory in MB (Linux ``/proc``); None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read(256).split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _sizes(ctx: JobContext) -> dict[str, tuple[int, int]]:
    """The worker's cache sizes for the parent's gauges; a failure here never fails a job."""
    try:
        return ctx.structure_sizes()
    except Exception:
        return {}


class Busy:
    """How many turns this worker is running now (the memory watch only looks while it is > 0)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: set[int] = set()

    @property
    def count(self) -> int:
        return len(self.running)

    def start(self, job_id: int) -> None:
        with self._lock:
            self.running.add(job_id)

    def stop(self, job_id: int) -> None:
        with self._lock:
            self.running.discard(job_id)

    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self.running)


def watch_memory(budget_mb: int, busy: Busy, send: Callable[[tuple[Any, ...]], None]) -> None:
    """Leave at once (and say why) when a turn takes this worker past ``budget_mb``: a thread
    cannot be stopped from outside, and a process that ran out of memory is best replaced.
    Checked only while turns run, so an idle worker's size never counts against it."""
    while True:
        time.sleep(MEMORY_CHECK_S)
        if busy.count <= 0:  # no turn running: nothing to measure
            continue
        rss = resident_mb()
        if rss is not None and rss > budget_mb:
            log.error("a turn took this worker over its memory budget; leaving", extra={"rss_mb": round(rss)})
            send(("over_budget", "memory", f"{rss:.0f} MB, over the {budget_mb} MB budget", busy.ids()))
            os._exit(EXIT_OVER_BUDGET)


def worker_main(index: int, settings: SlackSettings, conn: Connection) -> None:
    """Entry point of one worker process (spawned): build the context, then run jobs until told to stop."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    if settings.worker_nice:
        with contextlib.suppress(OSError):  # not allowed here: run at the parent's priority
            os.nice(settings.worker_nice)
    configure_logging(settings.secrets(), fields={"worker": index})
    record_for_parent()
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock, contextlib.suppress(OSError, ValueError):  # the parent is gone: nobody to tell
            conn.send(message)

    try:
        ctx = JobContext.build(settings)
    except Exception as exc:  # a worker that cannot start says why; the parent retries with backoff
        log.exception("turn worker could not start")
        send(("failed", f"{type(exc).__name__}: {exc}"[:300]))
        return
    pool = KeyedThreadPool(settings.worker_threads, name=f"nginx-triage-w{index}")
    busy = Busy()
    if settings.worker_memory_mb > 0:
        threading.Thread(
            target=watch_memory,
            args=(settings.worker_memory_mb, busy, send),
            name=f"nginx-triage-w{index}-memory",
            daemon=True,
        ).start()
    send(("ready", os.getpid()))
    log.info("turn worker ready", extra={"pid": os.getpid()})
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            log.warning("the serving process is gone; finishing the jobs in hand and exiting")
            break
        if message[0] == "stop":
            break
        _, job_id, data = message
        try:
            job: Job = pickle.loads(data)
        except Exception:
            log.exception("a job could not be read; dropped", extra={"job_id": job_id})
            send(("done", job_id, drain()))
            continue

        def run(job_id: int = job_id, job: Job = job) -> None:
            busy.start(job_id)
            try:
                run_job(ctx, job)
            finally:
                busy.stop(job_id)
                send(("done", job_id, drain(), _sizes(ctx)))

        pool.submit(run, job.key)
    if not pool.shutdown(WORKER_STOP_GRACE_S):
        log.warning("turn worker stopped with jobs still running")
    ctx.close()
    send(("bye", drain()))
