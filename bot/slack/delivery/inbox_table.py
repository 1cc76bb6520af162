"""The inbox table: acked Slack deliveries, kept until their turn has replied.

SQL for the durable inbox (``bot.slack.delivery.inbox`` decides when to call it). In
PostgreSQL the table lives in the bot's database, on the store's own engine; with a SQLite
file it lives in a sibling file, ``<database>-inbox``, so the INSERT in the ack path never
waits for the database-wide write lock a turn holds while the engine runs inside
``Store.update``. Every exclusive step is decided by the database (a primary key, a row
lock, an advisory lock), so replicas sharing the table never run one item twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, or_, select, text, update

from bot.store.connection import StoreError
from bot.store.database import SCHEMA_LOCK_KEY, Database, utc_now
from bot.store.dialect import insert_ignore
from bot.store.schema import InboxRow

log = logging.getLogger(__name__)

INBOX_LEASE_LOCK_KEY = SCHEMA_LOCK_KEY - 1
"""PostgreSQL advisory lock id serialising ``InboxTable.lease`` calls (keeps per-thread order across replicas)."""
INBOX_MAX_ATTEMPTS = 5
"""An inbox item handed out this often without completing is given up (marked done with its error)."""
INBOX_RETENTION = timedelta(hours=24)
"""Done inbox items are kept this long (they also dedupe Slack's retries), then pruned."""
INBOX_DEFAULT_LEASE_S = 30.0
ERROR_MAX_CHARS = 500
INBOX_TABLES: list[Table] = [InboxRow.__table__]  # type: ignore[list-item]


@dataclass(frozen=True)
class InboxItem:
    """An inbox item handed out by ``InboxTable.lease``: run it, then ``complete`` or ``fail`` it."""

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


class InboxTable:
    """Operations on the inbox table. Thread-safe; one per process (and per worker process)."""

    def __init__(self, database: Database) -> None:
        self._main = database
        self._own_file = database.sqlite_file is not None
        self._db = database.sibling("inbox", INBOX_TABLES) if self._own_file else database
        self._owns_main = False
        self._write_lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch: list[_PendingInsert] = []

    @classmethod
    def connect(cls, url: str | None = None) -> InboxTable:
        """The inbox of the bot's database at ``url`` (``DATABASE_URL``, else the default SQLite file)."""
        table = cls(Database(url))
        table._owns_main = True
        return table

    def ensure_schema(self) -> None:
        """Create the inbox table where it lives, if missing (idempotent, safe across processes)."""
        self._db.ensure_schema()

    @contextmanager
    def _transaction(self, action: str, *, write: bool, locked: bool = False) -> Iterator[Connection]:
        """A transaction on the inbox. In its own SQLite file, writers of this process queue on a
        mutex first, because SQLite's busy handler sleeps in steps of up to 100 ms while it
        waits for a lock (``locked``: the caller holds the mutex already)."""
        mutex = self._write_lock if self._own_file and write and not locked else contextlib.nullcontext()
        with mutex, self._db.transaction(action, write=write) as conn:
            yield conn

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
        now = utc_now()
        values = {
            "event_id": event_id,
            "thread": thread,
            "payload": payload,
            "received_at": now,
            "attempts": 1 if owner else 0,
            "lease_owner": owner,
            "lease_until": now + timedelta(seconds=lease_seconds) if owner else None,
        }
        if not self._own_file:
            with self._transaction("queueing a Slack event", write=True) as conn:
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
        with self._write_lock:
            if not mine.finished:
                with self._batch_lock:
                    batch, self._batch = self._batch, []
                try:
                    with self._transaction("queueing a Slack event", write=True, locked=True) as conn:
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
        now = utc_now()
        until = now + timedelta(seconds=lease_seconds)
        expired = or_(InboxRow.lease_until.is_(None), InboxRow.lease_until <= now)
        with self._transaction("leasing queued Slack events", write=True) as conn:
            if self._db.backend == "postgresql":
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
            if self._db.backend == "postgresql":
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
        until = utc_now() + timedelta(seconds=lease_seconds)
        with self._transaction("renewing inbox leases", write=True) as conn:
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
        with self._transaction("completing an inbox item", write=True) as conn:
            row = conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id == event_id, InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .values(done_at=utc_now(), lease_until=None, last_error=note[:ERROR_MAX_CHARS] if note else None)
                .returning(InboxRow.event_id)
            ).first()
        return row is not None

    def fail(self, event_id: str, owner: str, error: str) -> bool:
        """Record a failed attempt and release the lease so a later ``lease`` retries it; after
        ``INBOX_MAX_ATTEMPTS`` attempts the item is marked done with ``error`` (logged) so a
        poison event cannot loop forever. True when it was given up; False when retried or
        when it was not ``owner``'s open item."""
        now = utc_now()
        error = error[:ERROR_MAX_CHARS]
        with self._transaction("recording a failed inbox item", write=True) as conn:
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
        with self._transaction("releasing inbox items", write=True) as conn:
            rows = conn.execute(
                update(InboxRow)
                .where(InboxRow.event_id.in_(ids), InboxRow.lease_owner == owner, InboxRow.done_at.is_(None))
                .values(
                    lease_owner=None,
                    lease_until=None,
                    attempts=func.max(InboxRow.attempts - 1, 0)
                    if self._db.backend == "sqlite"
                    else func.greatest(InboxRow.attempts - 1, 0),
                )
                .returning(InboxRow.event_id)
            ).all()
        return len(rows)

    def pending_count(self) -> int:
        """Open (not done) inbox items, leased or not."""
        with self._transaction("counting inbox items", write=False) as conn:
            return int(
                conn.execute(select(func.count()).select_from(InboxRow).where(InboxRow.done_at.is_(None))).scalar_one()
            )

    def entry(self, event_id: str) -> InboxEntry | None:
        """The stored inbox row for ``event_id``, or None."""
        with self._transaction("reading an inbox item", write=False) as conn:
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

    def prune(self, now: datetime | None = None) -> int:
        """Delete items done more than ``INBOX_RETENTION`` ago; how many."""
        cutoff = (now or utc_now()) - INBOX_RETENTION
        with self._transaction("pruning the inbox", write=True) as conn:
            rows = conn.execute(delete(InboxRow).where(InboxRow.done_at < cutoff).returning(InboxRow.event_id)).all()
        return len(rows)

    def close(self) -> None:
        """Close the inbox file's connections (and the database's, when ``connect`` opened it)."""
        if self._db is not self._main:
            self._db.close()
        if self._owns_main:
            self._main.close()
