"""The durable inbox: an acked Slack delivery is never only in memory.

Slack does not redeliver what it got a 200 (or a Socket Mode ack) for, so a delivery acked
and then held only in a queue would be lost if the process died before answering it. Here:

1. **Before the ack** (the listener runs in the request, ``process_before_response=True``),
   ``Inbox.admit`` serialises the job to JSON (``bot.slack.delivery.job_json``), with the user's text redacted
   (``bot.evidence.redact``, as pastes are stored), and writes it with one
   ``INSERT ... ON CONFLICT DO NOTHING`` (``InboxTable.enqueue``), leased to this serving process.
   A False from the insert means the event id is already there: a retry or a duplicate
   delivery, dropped (this replaces ``claim_event`` for events). Interactions without an
   event id (commands, buttons, shortcuts) get a generated id, so they are durable too.
2. **Fast path, as before**: the job goes to the worker pool in memory, wrapped in an
   ``InboxJob`` that marks the item done (``InboxTable.complete``) right after the turn's replies
   are posted, or records a failure (``InboxTable.fail``, retried up to ``INBOX_MAX_ATTEMPTS``).
3. **Recovery**: every serving process runs ``Inbox.recover_once`` every ``inbox_poll_s``:
   it renews the leases of the items it holds (a heartbeat), then leases items whose lease
   expired (their process died: a killed replica's acked deliveries, or this process's own
   from before a restart) or was released (a failed run, a worker process that died, a
   graceful shutdown), and runs them. ``InboxTable.lease`` hands a thread's items out in received
   order and never while an earlier one of the thread is leased, and they run one at a
   time on this process's keyed pool, so per-thread order holds.

If the inbox cannot be written (database down), the delivery is still acked (a non-200
makes Slack retry and, repeated, disable the event subscription) and run in memory as
before: counted in ``nginx_triage_inbox_write_failures_total`` and logged; /readyz already
reports the database.

**At-least-once, made nearly exactly-once.** Dedupe is at the inbox insert, so a retry is
never run twice. A re-run happens only when the process dies (or the database is
unreachable for ``complete``) in the window between a turn's first post and its ``complete``
commit: the turn is run again by whoever leases it next and may post its replies again.
The window is the turn's posting plus one UPDATE; it is not closed (Slack has no
idempotency key for ``chat.postMessage``). The conversation state is written in one
transaction before the posts, so a re-run after a partial post sees the first run's turn
applied and answers from it again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from bot.slack.delivery.dispatcher import Dispatcher
from bot.slack.delivery.inbox_table import InboxTable
from bot.slack.delivery.job_json import decode_job, encode_job
from bot.slack.delivery.jobs import InboxJob, Job, QueuedJob
from bot.slack.logs import logging_context
from bot.slack.metrics import (
    EVENTS_DUPLICATE,
    INBOX_DEFERRED,
    INBOX_GIVEN_UP,
    INBOX_PENDING,
    INBOX_RECOVERED,
    INBOX_WRITE_FAILURES,
    INBOX_WRITE_SECONDS,
    STRUCTURE_BOUND,
    STRUCTURE_ITEMS,
)
from bot.slack.settings import SlackSettings
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.inbox")

RECOVERY_BATCH = 20
"""At most this many items leased per recovery round (the rest wait for the next one)."""
MAX_DEFERRED_TRACKED = 10_000
"""Deferred deliveries whose wait is watched for the note (the items themselves are all in the table)."""


@dataclass
class _Deferred:
    """A delivery written to the inbox that found the turn queue full: it waits there."""

    since: float
    on_long_wait: Callable[[], None] | None
    noted: bool = False


PRUNE_EVERY_S = 600.0


def new_owner() -> str:
    """This serving process's lease owner id: host, pid and a random part (a restart is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def count_given_up(given_up: bool) -> None:
    """Count an item the inbox table gave up on (its attempts ran out)."""
    if given_up:
        INBOX_GIVEN_UP.inc()


def settle(what: str, fn: Callable[[], object]) -> None:
    """Run one inbox bookkeeping step; a database failure is logged: the lease expiry retries it."""
    try:
        fn()
    except StoreError as exc:
        log.warning("inbox: %s failed; the item is retried when its lease expires: %s", what, exc)


class Inbox:
    """Writes deliveries to the inbox before the ack, tracks the ones this process runs, renews
    their leases, and recovers orphaned ones (see the module docstring)."""

    def __init__(
        self, store: InboxTable, runner: Dispatcher, settings: SlackSettings, owner: str | None = None
    ) -> None:
        self.store = store
        self.runner = runner
        self.owner = owner or new_owner()
        self.lease_s = settings.inbox_lease_s
        self.poll_s = settings.inbox_poll_s
        self.long_wait_s = settings.working_note_s
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_prune = 0.0
        self._notes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nginx-triage-inbox")
        self._deferred: OrderedDict[str, _Deferred] = OrderedDict()
        self._wake = threading.Event()
        # _held: what the turn queue holds (its capacity) plus one recovery batch.
        STRUCTURE_BOUND.labels(structure="inbox_held").set(settings.queue_size * settings.workers + RECOVERY_BATCH)
        STRUCTURE_BOUND.labels(structure="inbox_deferred").set(MAX_DEFERRED_TRACKED)

    # -- the ack path ---------------------------------------------------------------------------

    def admit(self, job: QueuedJob) -> Job | None:
        """Write ``job`` to the inbox and return what to run (an ``InboxJob``); None for a
        delivery already there (a retry: drop it). When the write fails, ``job`` itself:
        run it in memory as before."""
        event_id = job.event_id or f"local-{uuid.uuid4().hex}"
        started = time.perf_counter()
        try:
            payload = encode_job(job)
            inserted = self.store.enqueue(
                event_id, job.key or f"inbox:{event_id}", payload, owner=self.owner, lease_seconds=self.lease_s
            )
        except (StoreError, TypeError, ValueError) as exc:
            INBOX_WRITE_FAILURES.inc()
            with logging_context(**job.describe()):
                log.error("inbox write failed; acking and running this delivery in memory only: %s", exc)
            return job
        finally:
            INBOX_WRITE_SECONDS.observe(time.perf_counter() - started)
        if not inserted:
            EVENTS_DUPLICATE.inc()
            with logging_context(**job.describe()):
                log.info("duplicate delivery ignored")
            return None
        with self._lock:
            self._held.add(event_id)
        return InboxJob(event_id, self.owner, job)

    def defer(self, job: InboxJob, on_long_wait: Callable[[], None] | None = None) -> None:
        """The turn queue is full: the delivery stays in the inbox (durable, acked) and its lease is
        handed back (off the ack path), so the recovery loop runs it when a worker frees up, in
        received order. ``on_long_wait`` is called once if it still waits after ``working_note_s``."""
        with self._lock:
            self._held.discard(job.event_id)
            self._deferred[job.event_id] = _Deferred(time.monotonic(), on_long_wait)
            while len(self._deferred) > MAX_DEFERRED_TRACKED:
                self._deferred.popitem(last=False)
            INBOX_DEFERRED.set(len(self._deferred))
        self._notes.submit(settle, "handing a deferred item back", lambda: self._release_deferred(job.event_id))

    def _release_deferred(self, event_id: str) -> None:
        self.store.release(self.owner, [event_id])
        self._wake.set()

    def _note_long_waits(self) -> None:
        """Call the "working on it" callback of deferred deliveries waiting too long (once each)."""
        now = time.monotonic()
        due: list[Callable[[], None]] = []
        with self._lock:
            for waiting in self._deferred.values():
                if now - waiting.since < self.long_wait_s:
                    continue
                if not waiting.noted and waiting.on_long_wait is not None:
                    waiting.noted = True
                    due.append(waiting.on_long_wait)
        for note in due:
            self._notes.submit(note)

    def finished(self, job: Job, ran: bool) -> None:
        """Dispatcher callback: ``job`` finished (``ran``) or was lost with its worker process."""
        if not isinstance(job, InboxJob) or job.owner != self.owner:
            return
        with self._lock:
            self._held.discard(job.event_id)
            if self._deferred:
                self._wake.set()  # a worker freed up: run what waits in the inbox now
        if ran:
            # Off the ack path, on the one background writer; a no-op when the job failed
            # (it released its lease) or another process took the item over.
            self._notes.submit(settle, "marking it done", lambda: self.store.complete(job.event_id, self.owner))
            return
        with logging_context(**job.describe()):
            log.warning("inbox item released for a retry: its worker process died running it")
            settle("releasing it", partial(self._fail, job.event_id, "its worker process died while running it"))

    def _fail(self, event_id: str, error: str) -> None:
        count_given_up(self.store.fail(event_id, self.owner, error))

    def held(self) -> list[str]:
        """Event ids this process runs or has queued."""
        with self._lock:
            return sorted(self._held)

    # -- recovery -----------------------------------------------------------------------------------

    def recover_once(self) -> int:
        """Renew this process's leases, then lease and submit orphaned items; how many were submitted."""
        held = self.held()
        if held:
            self.store.renew(self.owner, held, self.lease_s)
        submitted = 0
        items = self.store.lease(self.owner, RECOVERY_BATCH, self.lease_s)
        refused: list[str] = []
        for item in items:
            INBOX_RECOVERED.inc()
            with logging_context(event_id=item.event_id, conversation=item.thread):
                if refused:
                    refused.append(item.event_id)
                    continue
                try:
                    job = decode_job(item.payload)
                except (ValueError, TypeError) as exc:
                    log.error("inbox item cannot be read: %s", exc, extra={"attempts": item.attempts})
                    settle("recording the failure", partial(self._fail, item.event_id, f"unreadable payload: {exc}"))
                    continue
                with self._lock:
                    deferred = self._deferred.pop(item.event_id, None)
                    self._held.add(item.event_id)
                    INBOX_DEFERRED.set(len(self._deferred))
                if deferred is None:
                    log.warning("running an acked delivery from the inbox", extra={"attempts": item.attempts})
                if self.runner.submit(InboxJob(item.event_id, self.owner, job, recovered=item.attempts > 1)):
                    submitted += 1
                    continue
                with self._lock:
                    self._held.discard(item.event_id)
                    if deferred is not None:  # still waiting: keep when it started and its note
                        self._deferred[item.event_id] = deferred
                refused.append(item.event_id)
        if refused:
            log.info("turn queue full: %d inbox items handed back for later", len(refused))
            self.store.release(self.owner, refused)
        self._note_long_waits()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self.store.prune()
        INBOX_PENDING.set(self.store.pending_count())
        with self._lock:
            STRUCTURE_ITEMS.labels(structure="inbox_held").set(len(self._held))
            STRUCTURE_ITEMS.labels(structure="inbox_deferred").set(len(self._deferred))
        return submitted

    def start(self) -> Inbox:
        """Run ``recover_once`` now and then every ``poll_s`` on a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="nginx-triage-inbox", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.recover_once()
            except StoreError as exc:
                log.warning("inbox recovery round failed: %s", exc)
            except Exception:  # the loop must outlive any one bad round
                log.exception("inbox recovery round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def stop(self) -> None:
        """Stop leasing (a shutdown: let the other replicas take what is left)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        """After the pool drained: hand back what this process still holds, so another replica
        takes it at once instead of after the lease expires; then close the table."""
        self.stop()
        self._notes.shutdown(wait=True)
        held = self.held()
        try:
            if held:
                released = self.store.release(self.owner, held)
                log.warning("shutting down: %d unfinished inbox items handed back", released)
        except StoreError as exc:
            log.warning(
                "shutting down: could not hand back %d inbox items (they are retried when their leases expire): %s",
                len(held),
                exc,
            )
        finally:
            self.store.close()
