"""Persistence for the Slack bot: SQLite by default, PostgreSQL for several replicas."""

from bot.store.connection import StoreError
from bot.store.database import Database
from bot.store.store import FeedbackRecord, Store
from bot.store.unmatched import Gap, fingerprint

__all__ = [
    "Database",
    "FeedbackRecord",
    "Gap",
    "Store",
    "StoreError",
    "fingerprint",
]
