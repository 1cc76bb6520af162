"""Persistence for the Slack bot: SQLite by default, PostgreSQL for several replicas."""

from bot.store.connection import StoreError
from bot.store.store import INBOX_MAX_ATTEMPTS, FeedbackRecord, InboxEntry, InboxItem, Store
from bot.store.unmatched import Gap, fingerprint

__all__ = [
    "INBOX_MAX_ATTEMPTS",
    "FeedbackRecord",
    "Gap",
    "InboxEntry",
    "InboxItem",
    "Store",
    "StoreError",
    "fingerprint",
]
