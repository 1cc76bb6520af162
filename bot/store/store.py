"""Persistence shared by every bot replica: conversations, event dedupe, feedback, KB gaps.

The database is the only coordination point between replicas, so each operation that
must be exclusive is made atomic by the database itself (a primary key, a row lock, a
single UPSERT), never by a check-then-write in Python. The plumbing (engine, transactions,
schema, health) is ``bot.store.database``; the Slack inbox table lives with the rest of
the after-ack machinery in ``bot.slack.delivery.inbox_table``, on the same ``Database``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import delete, insert, select, update

from bot.conversation.model import ConversationState
from bot.evidence.redaction import redact_intake
from bot.store.connection import StoreError
from bot.store.database import Database, utc_now
from bot.store.dialect import insert_ignore, upsert_add
from bot.store.retention import Purged
from bot.store.schema import Conversation, Feedback, ProcessedEvent, UnmatchedLine
from bot.store.unmatched import Gap, group_lines

T = TypeVar("T")

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(hours=24)
"""Slack retries for at most ~5 minutes; a day of event ids is ample and keeps the table small."""
PRUNE_EVERY_S = 600.0
"""Each process prunes old event ids at most this often (and on its first claim)."""
UPSERT_BATCH = 500


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored feedback click."""

    thread: str
    user: str
    value: str
    comment: str | None
    created_at: datetime


class Store:
    """The bot's database. Thread-safe; one per process.

    ``url`` None means ``DATABASE_URL``, else a SQLite file in the state dir. Nothing
    connects until first use, so a bot can start with the database down and report it
    through ``ping``/``last_error`` instead of crashing.
    """

    def __init__(self, url: str | None = None) -> None:
        self.database = Database(url)
        """The engine and transactions, shared with the Slack inbox table."""
        self.url = self.database.url
        """The database URL with its password masked; safe to log."""
        self.backend = self.database.backend
        self._prune_lock = threading.Lock()
        self._next_prune = 0.0

    @property
    def last_error(self) -> str | None:
        """Why the last ``ping`` failed, password-free; None when it succeeded."""
        return self.database.last_error

    def ensure_schema(self) -> None:
        """Create missing tables (see ``Database.ensure_schema``)."""
        self.database.ensure_schema()

    def ping(self) -> bool:
        """True when the database answers and the schema exists; never raises (for /readyz)."""
        return self.database.ping()

    # -- Slack event dedupe -----------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True exactly once per ``event_id`` across processes and replicas (the primary key decides)."""
        now = utc_now()
        with self.database.transaction("recording a Slack event id", write=True) as conn:
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
            with self.database.transaction("pruning old Slack event ids", write=True) as conn:
                conn.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < now - EVENT_RETENTION))
        except StoreError as exc:
            log.warning("%s", exc)
        finally:
            self._prune_lock.release()

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
        now = utc_now()
        with self.database.transaction("updating a conversation", write=True) as conn:
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
        with self.database.transaction("loading a conversation", write=False) as conn:
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
        with self.database.transaction("recording feedback", write=True) as conn:
            conn.execute(
                insert(Feedback).values(thread=thread, user=user, value=value, comment=comment, created_at=utc_now())
            )

    def feedback_for(self, thread: str) -> list[FeedbackRecord]:
        """Feedback on one thread, oldest first."""
        with self.database.transaction("loading feedback", write=False) as conn:
            rows = conn.execute(
                select(Feedback.thread, Feedback.user, Feedback.value, Feedback.comment, Feedback.created_at)
                .where(Feedback.thread == thread)
                .order_by(Feedback.id)
            ).all()
        return [FeedbackRecord(r.thread, r.user, r.value, r.comment, r.created_at) for r in rows]

    # -- KB gaps ----------------------------------------------------------------------

    def record_unmatched(self, lines: Iterable[str]) -> None:
        """Count lines nothing matched, by shape. Callers pass lines already redacted; they are
        redacted again here (a no-op then), so the queue never keeps a raw line."""
        shapes = group_lines(redact_intake(line).text for line in lines)
        if not shapes:
            return
        now = utc_now()
        rows = [
            {"fingerprint": s.fingerprint, "sample": s.sample, "count": s.count, "first_seen": now, "last_seen": now}
            for s in shapes
        ]
        with self.database.transaction("recording unmatched lines", write=True) as conn:
            for start in range(0, len(rows), UPSERT_BATCH):
                upsert_add(
                    conn, UnmatchedLine, rows[start : start + UPSERT_BATCH], ["fingerprint"], "count", ["last_seen"]
                )

    def gaps(self, limit: int = 50) -> list[Gap]:
        """The most frequent shapes of unmatched lines, ties broken by the most recent."""
        if limit <= 0:
            return []
        with self.database.transaction("listing unmatched lines", write=False) as conn:
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

    # -- retention --------------------------------------------------------------------

    def purge(self, days: int, now: datetime | None = None) -> Purged:
        """Delete conversations, feedback, unmatched lines and event ids last touched more than
        ``days`` days ago (``bot.store.retention``); how many rows of each went."""
        cutoff = (now or utc_now()) - timedelta(days=days)
        with self.database.transaction("purging old rows", write=True) as conn:
            deleted = [
                conn.execute(delete(table).where(column < cutoff)).rowcount
                for table, column in (
                    (Conversation, Conversation.updated_at),
                    (Feedback, Feedback.created_at),
                    (UnmatchedLine, UnmatchedLine.last_seen),
                    (ProcessedEvent, ProcessedEvent.received_at),
                )
            ]
        return Purged(*(max(n, 0) for n in deleted))

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections."""
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
