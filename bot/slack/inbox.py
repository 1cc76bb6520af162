"""The durable inbox: an acked Slack delivery is never only in memory.

Slack does not redeliver what it got a 200 (or a Socket Mode ack) for, so a delivery acked
and then held only in a queue would be lost if the process died before answering it. Here:

1. **Before the ack** (the listener runs in the request, ``process_before_response=True``),
   ``Inbox.admit`` serialises the job to JSON, with the user's text redacted
   (``bot.evidence.redact``, as pastes are stored), and writes it with one
   ``INSERT ... ON CONFLICT DO NOTHING`` (``Store.enqueue``), leased to this serving process.
   A False from the insert means the event id is already there: a retry or a duplicate
   delivery, dropped (this replaces ``claim_event`` for events). Interactions without an
   event id (commands, buttons, shortcuts) get a generated id, so they are durable too.
2. **Fast path, as before**: the job goes to the worker pool in memory, wrapped in an
   ``InboxJob`` that marks the item done (``Store.complete``) right after the turn's replies
   are posted, or records a failure (``Store.fail``, retried up to ``INBOX_MAX_ATTEMPTS``).
3. **Recovery**: every serving process runs ``Inbox.recover_once`` every ``inbox_poll_s``:
   it renews the leases of the items it holds (a heartbeat), then leases items whose lease
   expired (their process died: a killed replica's acked deliveries, or this process's own
   from before a restart) or was released (a failed run, a worker process that died, a
   graceful shutdown), and runs them. ``Store.lease`` hands a thread's items out in received
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

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Protocol

from bot.evidence.redact import redact
from bot.slack.jobs import Job, JobContext, Target
from bot.slack.logs import logging_context
from bot.slack.metrics import (
    EVENTS_DUPLICATE,
    INBOX_GIVEN_UP,
    INBOX_PENDING,
    INBOX_RECOVERED,
    INBOX_WRITE_FAILURES,
    INBOX_WRITE_SECONDS,
)
from bot.slack.settings import SlackSettings
from bot.slack.turns import deduplicated_by_inbox
from bot.store import InboxItem, StoreError

log = logging.getLogger("nginx_triage.slack.inbox")

PAYLOAD_VERSION = 1
RECOVERY_BATCH = 20
"""At most this many items leased per recovery round (the rest wait for the next one)."""
PRUNE_EVERY_S = 600.0


class InboxStore(Protocol):
    """The inbox part of ``bot.store.Store``."""

    def enqueue(
        self, event_id: str, thread: str, payload: str, *, owner: str | None = None, lease_seconds: float = 30.0
    ) -> bool: ...

    def lease(self, owner: str, limit: int, lease_seconds: float = 30.0) -> list[InboxItem]: ...

    def renew(self, owner: str, event_ids: Iterable[str], lease_seconds: float = 30.0) -> int: ...

    def complete(self, event_id: str, owner: str, note: str | None = None) -> bool: ...

    def fail(self, event_id: str, owner: str, error: str) -> bool: ...

    def release(self, owner: str, event_ids: Iterable[str]) -> int: ...

    def pending_count(self) -> int: ...

    def prune_inbox(self) -> int: ...


def new_owner() -> str:
    """This serving process's lease owner id: host, pid and a random part (a restart is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def inbox_id(job: Job) -> str | None:
    """The Slack event id a job came from (events only; interactions have none)."""
    event_id = getattr(job, "event_id", None)
    if event_id is None:
        turn = getattr(job, "turn", None)
        event_id = getattr(turn, "event_id", None)
    return str(event_id) if event_id else None


# -- the job as JSON --------------------------------------------------------------------------


def _registry() -> dict[str, type[Any]]:
    # Imported here: the callbacks import ``bot.slack.bot``, which imports this module.
    from bot.slack.callbacks.action import ActionJob
    from bot.slack.callbacks.command import CommandJob
    from bot.slack.callbacks.home import HomeJob
    from bot.slack.files import FileRef
    from bot.slack.jobs import FallbackTarget, ResponseUrlTarget, ThreadTarget, TurnJob
    from bot.slack.turns import Turn

    classes: tuple[type[Any], ...] = (
        Turn,
        FileRef,
        ThreadTarget,
        ResponseUrlTarget,
        FallbackTarget,
        TurnJob,
        ActionJob,
        CommandJob,
        HomeJob,
    )
    return {cls.__name__: cls for cls in classes}


_SKIPPED = {("Turn", "received_at")}
"""A monotonic clock reading means nothing in another process; a decoded turn gets a fresh one."""


def _clean(owner: str, name: str, value: Any) -> Any:
    """Redact what users typed before it is written anywhere: a turn's text, a command's text;
    a command's legacy verification token is not needed and not kept."""
    if owner == "Turn" and name == "text" and isinstance(value, str) and value:
        return redact(value)[0]
    if owner == "CommandJob" and name == "command" and isinstance(value, dict):
        cleaned = {k: v for k, v in value.items() if k != "token"}
        if isinstance(cleaned.get("text"), str):
            cleaned["text"] = redact(cleaned["text"])[0]
        return cleaned
    return value


def _encode(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        kind = type(value).__name__
        return {
            "__type__": kind,
            "fields": {
                f.name: _encode(_clean(kind, f.name, getattr(value, f.name)))
                for f in fields(value)
                if (kind, f.name) not in _SKIPPED
            },
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in the inbox")


def _decode(value: Any, registry: dict[str, type[Any]]) -> Any:
    if isinstance(value, list):
        return [_decode(v, registry) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, registry) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, registry) for k, v in value["__dict__"].items()}
    kind = value.get("__type__")
    cls = registry.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown job part {kind!r}")
    return cls(**{k: _decode(v, registry) for k, v in value.get("fields", {}).items()})


def encode_job(job: Job) -> str:
    """The job as JSON text, user text redacted (what the inbox stores)."""
    return json.dumps({"v": PAYLOAD_VERSION, "job": _encode(job)}, separators=(",", ":"))


def decode_job(payload: str) -> Job:
    """The job back from ``encode_job``'s JSON; ValueError (or TypeError) when it cannot be read."""
    data = json.loads(payload)
    if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
        raise ValueError("not an inbox payload of a known version")
    job = _decode(data.get("job"), _registry())
    if not callable(getattr(job, "run", None)):
        raise ValueError(f"{type(job).__name__} is not a job")
    result: Job = job
    return result


# -- the job, as run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxJob:
    """A job taken from (or just written to) the inbox: run it, then mark the item done.

    ``complete`` is called right after the job returns, i.e. right after its last reply was
    posted (or refused by Slack: the client's policy is to log and give up, so that counts
    as done). If the process dies between the first post and that commit, the item is run
    again after its lease expires and may post again: see the module docstring.
    """

    event_id: str
    owner: str
    job: Job

    @property
    def key(self) -> str | None:
        return self.job.key

    @property
    def busy_target(self) -> Target | None:
        return self.job.busy_target

    def describe(self) -> dict[str, Any]:
        return {**self.job.describe(), "event_id": self.event_id}

    def run(self, ctx: JobContext) -> None:
        with deduplicated_by_inbox(self.event_id):
            try:
                self.job.run(ctx)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                with logging_context(**self.describe()):
                    log.exception("a turn from the inbox failed; it will be retried")
                    _settle(
                        "recording the failure",
                        lambda: _count_given_up(ctx.store.fail(self.event_id, self.owner, error)),
                    )
        # Success is recorded by the serving process (``Inbox.finished``), not here: on SQLite
        # one writer for the inbox file keeps the ack path's INSERTs from waiting on workers'
        # UPDATEs. After a failure the lease is released, so that ``complete`` finds nothing.


def _count_given_up(given_up: bool) -> None:
    if given_up:
        INBOX_GIVEN_UP.inc()


def _settle(what: str, fn: Any) -> None:
    try:
        fn()
    except StoreError as exc:
        log.warning("inbox: %s failed; the item is retried when its lease expires: %s", what, exc)


# -- the serving process's side ------------------------------------------------------------------


class Inbox:
    """Writes deliveries to the inbox before the ack, tracks the ones this process runs, renews
    their leases, and recovers orphaned ones (see the module docstring)."""

    def __init__(self, store: InboxStore, runner: Any, settings: SlackSettings, owner: str | None = None) -> None:
        self.store = store
        self.runner = runner
        self.owner = owner or new_owner()
        self.lease_s = settings.inbox_lease_s
        self.poll_s = settings.inbox_poll_s
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_prune = 0.0
        self._notes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nginx-triage-inbox")

    # -- the ack path ---------------------------------------------------------------------------

    def admit(self, job: Job) -> Job | None:
        """Write ``job`` to the inbox and return what to run (an ``InboxJob``); None for a
        delivery already there (a retry: drop it). When the write fails, ``job`` itself:
        run it in memory as before."""
        if isinstance(job, InboxJob):
            return job
        event_id = inbox_id(job) or f"local-{uuid.uuid4().hex}"
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

    def refused(self, job: InboxJob) -> None:
        """The pool refused the job (queue full) and the user is told to resend: close the item
        (off the ack path), so it is not also answered later."""
        with self._lock:
            self._held.discard(job.event_id)
        self._notes.submit(
            _settle,
            "closing a refused item",
            lambda: self.store.complete(job.event_id, self.owner, "refused: the turn queue was full"),
        )

    def finished(self, job: Job, ran: bool) -> None:
        """Dispatcher callback: ``job`` finished (``ran``) or was lost with its worker process."""
        if not isinstance(job, InboxJob) or job.owner != self.owner:
            return
        with self._lock:
            self._held.discard(job.event_id)
        if ran:
            # Off the ack path, on the one background writer; a no-op when the job failed
            # (it released its lease) or another process took the item over.
            self._notes.submit(_settle, "marking it done", lambda: self.store.complete(job.event_id, self.owner))
            return
        with logging_context(**job.describe()):
            log.warning("inbox item released for a retry: its worker process died running it")
            _settle(
                "releasing it",
                lambda: _count_given_up(
                    self.store.fail(job.event_id, self.owner, "its worker process died while running it")
                ),
            )

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
                    _settle(
                        "recording the failure",
                        lambda eid=item.event_id, e=exc: _count_given_up(
                            self.store.fail(eid, self.owner, f"unreadable payload: {e}")
                        ),
                    )
                    continue
                log.warning("running an acked delivery from the inbox", extra={"attempts": item.attempts})
                with self._lock:
                    self._held.add(item.event_id)
                if self.runner.submit(InboxJob(item.event_id, self.owner, job)):
                    submitted += 1
                    continue
                with self._lock:
                    self._held.discard(item.event_id)
                refused.append(item.event_id)
        if refused:
            log.warning("turn queue full: %d inbox items handed back for later", len(refused))
            self.store.release(self.owner, refused)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self.store.prune_inbox()
        INBOX_PENDING.set(self.store.pending_count())
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
            self._stop.wait(self.poll_s)

    def stop(self) -> None:
        """Stop leasing (a shutdown: let the other replicas take what is left)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        """After the pool drained: hand back what this process still holds, so another replica
        takes it at once instead of after the lease expires."""
        self.stop()
        self._notes.shutdown(wait=True)
        held = self.held()
        if not held:
            return
        try:
            released = self.store.release(self.owner, held)
            log.warning("shutting down: %d unfinished inbox items handed back", released)
        except StoreError as exc:
            log.warning(
                "shutting down: could not hand back %d inbox items (they are retried when their leases expire): %s",
                len(held),
                exc,
            )
