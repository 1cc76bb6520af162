"""The tables the bot persists, as SQLAlchemy 2 typed ORM models.

Five tables, all keyed so that concurrent replicas meet on a primary key: the
conversation per thread, the Slack event ids already handled, feedback clicks, the
shapes of log lines nothing in the KB matched (the queue for growing the KB), and the
inbox of acked Slack deliveries not yet answered (``bot.slack.delivery.inbox_table``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SAMPLE_MAX_CHARS = 500
"""Stored samples of unmatched lines are cut here: enough to write a KB entry from."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values go in as naive
    UTC (which also keeps its text form sortable) and come back marked UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Metadata root for ``create_all``."""


class Conversation(Base):
    """One Slack thread (or CLI chat). ``state`` is NULL only in the placeholder row that
    ``Store.update`` inserts to have something to lock; it never survives a rollback."""

    __tablename__ = "conversations"

    thread: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """A Slack ``event_id`` some replica already claimed; rows older than a day are pruned."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Feedback(Base):
    """One click on helpful / not helpful / get a human."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_thread", "thread"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread: Mapped[str] = mapped_column(String(255))
    # "user" is reserved in PostgreSQL; SQLAlchemy quotes it.
    user: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UnmatchedLine(Base):
    """Lines of one shape (``mask``) that nothing matched, counted."""

    __tablename__ = "unmatched_lines"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    sample: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())


class InboxRow(Base):
    """One acked Slack delivery: written before the ack, marked done once its turn has replied.

    ``payload`` is the job as JSON, with the user's text already redacted. ``attempts`` counts
    how often the job was handed out (at the ack or by a lease); ``lease_owner`` and
    ``lease_until`` say which serving process runs it and until when that claim holds.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_open", "done_at", "received_at"),
        Index("ix_inbox_thread", "thread", "received_at"),
    )

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    thread: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
