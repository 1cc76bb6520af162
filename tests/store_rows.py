"""Rows of every stored kind, some aged past a retention: what the purge tests start from."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.conversation.model import ConversationState
from bot.store import Store
from bot.store.database import utc_now
from bot.store.schema import Conversation, Feedback, ProcessedEvent, UnmatchedLine

TABLES = (
    (Conversation, Conversation.updated_at),
    (Feedback, Feedback.created_at),
    (UnmatchedLine, UnmatchedLine.last_seen),
    (ProcessedEvent, ProcessedEvent.received_at),
)


def fill(url: str, *, old_days: int) -> None:
    """Two rows in every table: one ``old_days`` days old, one from now."""
    with Store(url) as store:
        for name in ("old", "new"):
            store.update(f"T:C:{name}", lambda s, n=name: (s or ConversationState(thread=f"T:C:{n}"), None))
            store.record_feedback(f"T:C:{name}", "U1", "helpful")
            store.record_unmatched([f"2024/01/01 00:00:00 [error] 1#1: strange {name} thing"])
            store.claim_event(f"Ev{name}")
        then = utc_now() - timedelta(days=old_days)
        with store.database.transaction("ageing rows", write=True) as conn:
            conn.execute(update(Conversation).where(Conversation.thread == "T:C:old").values(updated_at=then))
            conn.execute(update(Feedback).where(Feedback.thread == "T:C:old").values(created_at=then))
            conn.execute(
                update(UnmatchedLine)
                .where(UnmatchedLine.sample.contains("old"))
                .values(last_seen=then, first_seen=then)
            )
            conn.execute(update(ProcessedEvent).where(ProcessedEvent.event_id == "Evold").values(received_at=then))


def counts(url: str) -> dict[str, int]:
    with Store(url) as store, store.database.transaction("counting", write=False) as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one() for t, _ in TABLES}
