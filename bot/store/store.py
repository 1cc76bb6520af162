"""Persistence shared by every bot replica: conversations, event dedupe, feedback, KB gaps.

The database is the only coordination point between replicas, so each operation that
must be exclusive is made atomic by the database itself (a primary key, a row lock, a
single UPSERT), never by a check-then-write in Python.

The inbox (acked Slack deliveries until answered) lives in the same PostgreSQL database;
with SQLite it lives in a sibling file, ``<database>-inbox``, so its writes in the ack path
never queue behind a conversation update (see ``_inbox_transaction``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.conversation.model import ConversationState
from bot.store.connection import (
    SQLITE_BEGIN_OPTION,
    StoreError,
    build_engine,
    parse_url,
    resolve_url,
    safe_url,
    scrub,
)
from bot.store.dialect import insert_ignore, upsert_add
from bot.store.schema import Base, Conversation, Feedback, InboxRow, ProcessedEvent, UnmatchedLine
from bot.store.unmatched import Gap, group_lines

T = TypeVar("T")

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(hours=24)
"""Slack retries for at most ~5 minutes; a day of event ids is ample and keeps the table small."""
PRUNE_EVERY_S = 600.0
"""Each process prunes old event ids at most this often (and on its first claim)."""
UPSERT_BATCH = 500
SCHEMA_LOCK_KEY = 0x6E67_7472_6961_6765 & 0x7FFF_FFFF_FFFF_FFFF
"""PostgreSQL advisory lock id serialising ``create_all`` across processes ("ngtriage")."""
INBOX_LEASE_LOCK_KEY = SCHEMA_LOCK_KEY - 1
"""PostgreSQL advisory lock id serialising ``Store.lease`` calls (keeps per-thread order across replicas)."""
INBOX_MAX_ATTEMPTS = 5
"""An inbox item handed out this often without completing is given up (marked done with its error)."""
INBOX_RETENTION = timedelta(hours=24)
"""Done inbox items are kept this long (they also dedupe Slack's retries), then pruned."""
INBOX_DEFAULT_LEASE_S = 30.0
ERROR_MAX_CHARS = 500


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored feedback click."""

    thread: str
    user: str
    value: str
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class InboxItem:
    """An inbox item handed out by ``Store.lease``: run it, then ``complete`` or ``fail`` it."""

    event_id: str
    thread: str
    payload: str
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class InboxEntry:
    """Everything stored about one inbox item (for operators and tests)."""

    event_id: str
    thread: str
    payload: str
    received_at: datetime
    attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    done_at: datetime | None
    last_error: str | None


@dataclass
class _PendingInsert:
    """One ``enqueue`` waiting for the group commit."""

    values: dict[str, Any]
    result: bool = False
    error: StoreError | None = None
    finished: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The bot's database. Thread-safe; one per process.

    ``url`` None means ``DATABASE_URL``, else a SQLite file in the state dir. Nothing
    connects until first use, so a bot can start with the database down and report it
    through ``ping``/``last_error`` instead of crashing.
    """

    def __init__(self, url: str | None = None) -> None:
        self._url = parse_url(resolve_url(url))
        self.url = safe_url(self._url)
        """The database URL with its password masked; safe to log."""
        self.backend = self._url.get_backend_name()
        self._engine = build_engine(self._url)
        self._inbox_engine = self._engine
        database = self._url.database
        if self.backend == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
            self._inbox_engine = build_engine(self._url.set(database=f"{database}-inbox"))
        self._inbox_lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch: list[_PendingInsert] = []
        self._inbox_schema_ready = False
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._prune_lock = threading.Lock()
        self._next_prune = 0.0
        self.last_error: str | None = None
        """Why the last ``ping`` failed, password-free; None when it succeeded."""

    # -- plumbing ---------------------------------------------------------------------

    def _error(self, action: str, exc: SQLAlchemyError) -> StoreError:
        orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = scrub(str(orig), self._url) or type(orig).__name__
        return StoreError(f"{action} failed on {self.url}: {reason}", self.url)

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn driver errors into ``StoreError``; anything else (a caller's ``fn``) passes through."""
        try:
            yield
        except SQLAlchemyError as exc:
            error = self._error(action, exc)
            # Drop the driver exception from the chain if it could carry the password.
            leaks = bool(self._url.password) and str(self._url.password) in str(exc)
            raise error from (None if leaks else exc)

    @contextmanager
    def _transaction(self, action: str, *, write: bool) -> Iterator[Connection]:
        """One transaction; on SQLite writes take the write lock at BEGIN (``BEGIN IMMEDIATE``)."""
        self.ensure_schema()
        with self._translated(action), self._engine.connect() as conn:
            if write and self.backend == "sqlite":
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    @contextmanager
    def _inbox_transaction(self, action: str, *, write: bool, locked: bool = False) -> Iterator[Connection]:
        """A transaction on the inbox. PostgreSQL: the main database (row locks, no waiting on
        other tables). SQLite: the sibling file ``<database>-inbox``, so that the INSERT in the
        ack path never waits for the database-wide write lock a turn holds while the engine
        runs in ``update``; and writers of this process queue on a mutex first, because
        SQLite's busy handler sleeps in steps of up to 100 ms while it waits for a lock."""
        if self._inbox_engine is self._engine:
            with self._transaction(action, write=write) as conn:
                yield conn
            return
        self._ensure_inbox_schema()
        with (
            self._inbox_lock if write and not locked else contextlib.nullcontext(),
            self._translated(action),
            self._inbox_engine.connect() as conn,
        ):
            if write:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def _ensure_inbox_schema(self) -> None:
        if self._inbox_schema_ready:
            return
        with self._schema_lock:
            if self._inbox_schema_ready:
                return
            with self._translated("creating the inbox schema"), self._inbox_engine.connect() as conn:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    Base.metadata.create_all(conn, tables=[InboxRow.__table__])  # type: ignore[list-item]
            self._inbox_schema_ready = True

    def ensure_schema(self) -> None:
        """Create missing tables; idempotent and safe when several processes start at once.

        PostgreSQL: a transaction-scoped advisory lock serialises the check-then-create of
        ``create_all`` (concurrent CREATE TABLE can otherwise fail on the catalog's unique
        index). SQLite: the same happens inside ``BEGIN IMMEDIATE``; DDL is transactional in both.
        """
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self._translated("creating the schema"), self._engine.connect() as conn:
                if self.backend == "sqlite":
                    conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    if self.backend == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                    Base.metadata.create_all(conn)
            self._schema_ready = True

    # -- readiness --------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the database answers and the schema exists; never raises (for /readyz)."""
        try:
            self.ensure_schema()
            with self._translated("checking the database"), self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except StoreError as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:  # readiness must answer, whatever went wrong
            self.last_error = f"checking the database failed on {self.url}: {type(exc).__name__}"
            return False
        self.last_error = None
        return True

    # -- Slack event dedupe -----------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True exactly once per ``event_id`` across processes and replicas (the primary key decides)."""
        now = _now()
        with self._transaction("recording a Slack event id", write=True) as conn:
            claimed = insert_ignore(conn, ProcessedEvent, {"event_id": event_id, "received_at": now}, ["event_id"])
        self._maybe_prune(now)
        return claimed

    def _maybe_prune(self, now: datetime) -> None:
        """Delete event ids older than ``EVENT_RETENTION``, at most every ``PRUNE_EVERY_S``.

        Best effort: a failed prune is retried next time and never fails the claim.
        """
        if time.monotonic() < self._next_prune or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            with self._transaction("pruning old Slack event ids", write=True) as conn:
                conn.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < now - EVENT_RETENTION))
        except StoreError as exc:
            log.warning("%s", exc)
        finally:
            self._prune_lock.release()

    # -- inbox: acked deliveries until their turn has replied --------------------------------

    def enqueue(
        self,
        event_id: str,
        thread: str,
        payload: str,
        *,
        owner: str | None = None,
        lease_seconds: float = INBOX_DEFAULT_LEASE_S,
    ) -> bool:
        """Record an acked delivery; False when ``event_id`` is already there (a retry or duplicate).

        One INSERT ... ON CONFLICT DO NOTHING, so two replicas racing on one event id get
        exactly one True: this replaces ``claim_event`` for events. With ``owner`` the item
        is leased to it at once (the caller runs it now, counted as attempt 1); without,
        it waits for ``lease``. Callers pass ``payload`` already redacted: it is stored as given.
        """
        now = _now()
        values = {
            "event_id": event_id,
            "thread": thread,
            "payload": payload,
            "received_at": now,
            "attempts": 1 if owner else 0,
            "lease_owner": owner,
            "lease_until": now + timedelta(seconds=lease_seconds) if owner else None,
        }
        if self._inbox_engine is self._engine:
            with self._inbox_transaction("queueing a Slack event", write=True) as conn:
                return insert_ignore(conn, InboxRow, values, ["event_id"])
        return self._enqueue_grouped(values)

    def _enqueue_grouped(self, values: dict[str, Any]) -> bool:
        """SQLite group commit: concurrent enqueues of this process share one transaction.

        Each caller adds its row to a shared batch, then takes the inbox write mutex; the
        first to get it inserts every row waiting (one BEGIN IMMEDIATE ... COMMIT) and hands
        each caller its own answer. 50 simultaneous acks cost a few commits, not 50.
        """
        mine = _PendingInsert(values)
        with self._batch_lock:
            self._batch.append(mine)
        with self._inbox_lock:
            if not mine.finished:
                with self._batch_lock:
                    batch, self._batch = self._batch, []
                try:
                    with self._inbox_transaction("queueing a Slack event", write=True, locked=True) as conn:
                        results = [insert_ignore(conn, InboxRow, p.values, ["event_id"]) for p in batch]
                    for pending, result in zip(batch, results, strict=True):
                        pending.result = result
                except StoreError as exc:
                    for pending in batch:
                        pending.error = exc
                finally:
                    for pending in batch:
                        pending.finished = True
        if mine.error is not None:
            raise mine.error
        return mine.result

    def lease(self, owner: str, limit: int, lease_seconds: float = INBOX_DEFAULT_LEASE_S) -> list[InboxItem]:
        """Atomically take up to ``limit`` open items whose lease is empty or expired, oldest first.

        Per-thread order: an item is only handed out while no open item of its thread is
        leased to anyone (lease not expired). So a thread's items are taken together, in
        received order, by one caller, who runs them one at a time; and while one of them
        runs, no other caller gets a later one. PostgreSQL: an advisory lock serialises
        ``lease`` calls (a thread's leases are decided in one place) and the rows are taken
        ``FOR UPDATE SKIP LOCKED``; SQLite: ``BEGIN IMMEDIATE`` serialises every writer.

        Each lease counts as an attempt. Items already tried ``INBOX_MAX_ATTEMPTS`` times whose
        last lease expired (their runner died mid-turn, maybe because of them) are given up:
        marked done with ``last_error`` and logged, never handed out again.
        """
        if limit <= 0:
            return []
        now = _now()
        until = now + timedelta(seconds=lease_seconds)
        expired = or_(InboxRow.lease_until.is_(None), InboxRow.lease_until <= now)
        with self._inbox_transaction("leasing queued Slack events", write=True) as conn:
            if self.backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INBOX_LEASE_LOCK_KEY})
            exhausted = conn.execute(
                update(InboxRow)
                .where(InboxRow.done_at.is_(None), InboxRow.attempts >= INBOX_MAX_ATTEMPTS, expired)
                .values(
                    done_at=now,
                    lease_owner=None,
                    lease_until=None,
                    last_error=func.coalesce(InboxRow.last_error, "its turn never finished"),
                )
                .returning(InboxRow.event_id, InboxRow.thread, InboxRow.attempts, InboxRow.last_error)
            ).all()
            for row in exhausted:
                log.error(
                    "inbox item given up after %d attempts",
                    row.attempts,
                    extra={"event_id": row.event_id, "conversation": row.thread, "error": row.last_error},
                )
            busy = select(InboxRow.thread).where(InboxRow.done_at.is_(None), InboxRow.lease_until > now)
            query = (
                select(InboxRow.event_id, InboxRow.thread, InboxRow.payload, InboxRow.received_at, InboxRow.attempts)
                .where(InboxRow.done_at.is_(None), expired, InboxRow.thread.not_in(busy))
                .order_by(InboxRow.received_at, InboxRow.event_id)
                .limit(limit)
            )
            if self.backend == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return []
            conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id.in_([r.event_id for r in rows]))
                .values(lease_owner=owner, lease_until=until, attempts=InboxRow.attempts + 1)
            )
        return [InboxItem(r.event_id, r.thread, r.payload, r.received_at, r.attempts + 1) for r in rows]

    def renew(self, owner: str, event_ids: Iterable[str], lease_seconds: float = INBOX_DEFAULT_LEASE_S) -> int:
        """Extend ``owner``'s leases on these open items (a heartbeat); how many were extended."""
        ids = sorted(set(event_ids))
        if not ids:
            return 0
        until = _now() + timedelta(seconds=lease_seconds)
        with self._inbox_transaction("renewing inbox leases", write=True) as conn:
            rows = conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id.in_(ids), InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .values(lease_until=until)
                .returning(InboxRow.event_id)
            ).all()
        return len(rows)

    def complete(self, event_id: str, owner: str, note: str | None = None) -> bool:
        """Mark ``owner``'s item done (its replies are posted); False when it is not ``owner``'s
        open item any more (its lease expired and another process took it over, or it is done)."""
        with self._inbox_transaction("completing an inbox item", write=True) as conn:
            row = conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id == event_id, InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .values(done_at=_now(), lease_until=None, last_error=note[:ERROR_MAX_CHARS] if note else None)
                .returning(InboxRow.event_id)
            ).first()
        return row is not None

    def fail(self, event_id: str, owner: str, error: str) -> bool:
        """Record a failed attempt and release the lease so a later ``lease`` retries it; after
        ``INBOX_MAX_ATTEMPTS`` attempts the item is marked done with ``error`` (logged) so a
        poison event cannot loop forever. True when it was given up; False when retried or
        when it was not ``owner``'s open item."""
        now = _now()
        error = error[:ERROR_MAX_CHARS]
        with self._inbox_transaction("recording a failed inbox item", write=True) as conn:
            row = conn.execute(
                select(InboxRow.attempts, InboxRow.thread)
                .where(InboxRow.event_id == event_id, InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .with_for_update()
            ).one_or_none()
            if row is None:
                return False
            give_up = bool(row.attempts >= INBOX_MAX_ATTEMPTS)
            conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id == event_id)
                .values(lease_owner=None, lease_until=None, last_error=error, done_at=now if give_up else None)
            )
        if give_up:
            log.error(
                "inbox item given up after %d attempts: %s",
                row.attempts,
                error,
                extra={"event_id": event_id, "conversation": row.thread},
            )
        return give_up

    def release(self, owner: str, event_ids: Iterable[str]) -> int:
        """Hand ``owner``'s open items back unfinished (a graceful shutdown): others may lease them
        at once, and the attempt that never ran is not counted."""
        ids = sorted(set(event_ids))
        if not ids:
            return 0
        with self._inbox_transaction("releasing inbox items", write=True) as conn:
            rows = conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id.in_(ids), InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .values(
                    lease_owner=None,
                    lease_until=None,
                    attempts=func.max(InboxRow.attempts - 1, 0)
                    if self.backend == "sqlite"
                    else func.greatest(InboxRow.attempts - 1, 0),
                )
                .returning(InboxRow.event_id)
            ).all()
        return len(rows)

    def pending_count(self) -> int:
        """Open (not done) inbox items, leased or not."""
        with self._inbox_transaction("counting inbox items", write=False) as conn:
            return int(
                conn.execute(select(func.count()).select_from(InboxRow).where(InboxRow.done_at.is_(None))).scalar_one()
            )

    def inbox_entry(self, event_id: str) -> InboxEntry | None:
        """The stored inbox row for ``event_id``, or None."""
        with self._inbox_transaction("reading an inbox item", write=False) as conn:
            r = conn.execute(
                select(
                    InboxRow.event_id,
                    InboxRow.thread,
                    InboxRow.payload,
                    InboxRow.received_at,
                    InboxRow.attempts,
                    InboxRow.lease_owner,
                    InboxRow.lease_until,
                    InboxRow.done_at,
                    InboxRow.last_error,
                ).where(InboxRow.event_id == event_id)
            ).one_or_none()
        if r is None:
            return None
        return InboxEntry(
            r.event_id,
            r.thread,
            r.payload,
            r.received_at,
            r.attempts,
            r.lease_owner,
            r.lease_until,
            r.done_at,
            r.last_error,
        )

    def prune_inbox(self, now: datetime | None = None) -> int:
        """Delete items done more than ``INBOX_RETENTION`` ago; how many."""
        cutoff = (now or _now()) - INBOX_RETENTION
        with self._inbox_transaction("pruning the inbox", write=True) as conn:
            rows = conn.execute(delete(InboxRow).where(InboxRow.done_at < cutoff).returning(InboxRow.event_id)).all()
        return len(rows)

    # -- conversations ----------------------------------------------------------------

    def update(self, thread: str, fn: Callable[[ConversationState | None], tuple[ConversationState, T]]) -> T:
        """Atomically read, change and write one thread's state; returns ``fn``'s second value.

        ``fn`` gets the stored state (None for a new thread) while the row is locked, so
        two replicas handling the same thread run one after the other and neither loses
        the other's paste. ``fn`` runs once per call: keep side effects (posting to Slack)
        out of it, since a failed commit would undo the state but not them. If ``fn``
        raises, nothing is written and its exception propagates unchanged. The stored
        state gets ``version`` + 1 and a fresh ``updated_at``.
        """
        now = _now()
        with self._transaction("updating a conversation", write=True) as conn:
            if self.backend == "postgresql":
                # Row locks need a row: a placeholder (state NULL) lets the first two
                # events of a new thread queue on the same lock. It rolls back with us.
                insert_ignore(
                    conn, Conversation, {"thread": thread, "state": None, "version": 0, "updated_at": now}, ["thread"]
                )
            row = conn.execute(
                select(Conversation.state, Conversation.version).where(Conversation.thread == thread).with_for_update()
            ).one_or_none()
            current = self._decode(thread, row.state) if row is not None else None
            state, result = fn(current)
            if state.thread != thread:
                raise ValueError(f"update({thread!r}) returned the state of thread {state.thread!r}")
            state.version = (row.version if row is not None else 0) + 1
            state.updated_at = now.timestamp()
            values = {"state": state.to_json(), "version": state.version, "updated_at": now}
            if row is None:
                conn.execute(insert(Conversation).values(thread=thread, **values))
            else:
                conn.execute(update(Conversation).where(Conversation.thread == thread).values(**values))
        return result

    def load(self, thread: str) -> ConversationState | None:
        """The stored state of ``thread``, or None when the bot has not seen it."""
        with self._transaction("loading a conversation", write=False) as conn:
            stored = conn.execute(select(Conversation.state).where(Conversation.thread == thread)).scalar_one_or_none()
        return self._decode(thread, stored)

    def _decode(self, thread: str, stored: str | None) -> ConversationState | None:
        if stored is None:
            return None
        try:
            return ConversationState.from_json(stored)
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"the stored state of thread {thread!r} in {self.url} is unreadable: {exc}", self.url
            ) from None

    # -- feedback ---------------------------------------------------------------------

    def record_feedback(self, thread: str, user: str, value: str, comment: str | None = None) -> None:
        """Store one feedback click (helpful / not helpful / get a human) with an optional comment."""
        with self._transaction("recording feedback", write=True) as conn:
            conn.execute(
                insert(Feedback).values(thread=thread, user=user, value=value, comment=comment, created_at=_now())
            )

    def feedback_for(self, thread: str) -> list[FeedbackRecord]:
        """Feedback on one thread, oldest first."""
        with self._transaction("loading feedback", write=False) as conn:
            rows = conn.execute(
                select(Feedback.thread, Feedback.user, Feedback.value, Feedback.comment, Feedback.created_at)
                .where(Feedback.thread == thread)
                .order_by(Feedback.id)
            ).all()
        return [FeedbackRecord(r.thread, r.user, r.value, r.comment, r.created_at) for r in rows]

    # -- KB gaps ----------------------------------------------------------------------

    def record_unmatched(self, lines: Iterable[str]) -> None:
        """Count lines nothing matched, by shape. Callers pass lines already redacted."""
        shapes = group_lines(lines)
        if not shapes:
            return
        now = _now()
        rows = [
            {"fingerprint": s.fingerprint, "sample": s.sample, "count": s.count, "first_seen": now, "last_seen": now}
            for s in shapes
        ]
        with self._transaction("recording unmatched lines", write=True) as conn:
            for start in range(0, len(rows), UPSERT_BATCH):
                upsert_add(
                    conn, UnmatchedLine, rows[start : start + UPSERT_BATCH], ["fingerprint"], "count", ["last_seen"]
                )

    def gaps(self, limit: int = 50) -> list[Gap]:
        """The most frequent shapes of unmatched lines, ties broken by the most recent."""
        if limit <= 0:
            return []
        with self._transaction("listing unmatched lines", write=False) as conn:
            rows = conn.execute(
                select(
                    UnmatchedLine.sample,
                    UnmatchedLine.count,
                    UnmatchedLine.first_seen,
                    UnmatchedLine.last_seen,
                    UnmatchedLine.fingerprint,
                )
                .order_by(UnmatchedLine.count.desc(), UnmatchedLine.last_seen.desc(), UnmatchedLine.fingerprint)
                .limit(limit)
            ).all()
        # Unpacked by position: ``Row.count`` is tuple.count, not the column.
        return [Gap(sample, count, first, last, key) for sample, count, first, last, key in rows]

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections."""
        self._engine.dispose()
        if self._inbox_engine is not self._engine:
            self._inbox_engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
