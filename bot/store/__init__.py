"""Persistence for the Slack bot: SQLite by default, PostgreSQL for several replicas."""

from bot.store.connection import StoreError
from bot.store.database import Database
from bot.store.retention import Purged, RetentionJob, retention_days
from bot.store.store import FeedbackRecord, Store
from bot.store.unmatched import Gap, fingerprint

__all__ = [
    "Database",
    "FeedbackRecord",
    "Gap",
    "Purged",
    "RetentionJob",
    "Store",
    "StoreError",
    "fingerprint",
    "retention_days",
]
