"""One database the bot writes to: its engine, transactions, schema creation and health.

Every table module (``bot.store.store``, and the Slack inbox in
``bot.slack.delivery.inbox_table``) goes through ``Database.transaction``, so driver errors
always become a ``StoreError`` without the password, SQLite writers always take the write
lock up front, and the schema always exists before the first statement.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.store.connection import SQLITE_BEGIN_OPTION, StoreError, build_engine, parse_url, resolve_url, safe_url, scrub
from bot.store.schema import Base

SCHEMA_LOCK_KEY = 0x6E67_7472_6961_6765 & 0x7FFF_FFFF_FFFF_FFFF
"""PostgreSQL advisory lock id serialising ``create_all`` across processes ("ngtriage")."""


def utc_now() -> datetime:
    """The time stamped on rows: aware UTC."""
    return datetime.now(UTC)


class Database:
    """An engine on one database URL and the tables it holds. Thread-safe; nothing connects
    until first use, so a process can start with the database down.

    ``tables`` None means every table of ``bot.store.schema``; a sibling SQLite file that
    holds one table (the Slack inbox) names it.
    """

    def __init__(self, url: str | URL | None = None, *, tables: Sequence[Table] | None = None) -> None:
        self._url = url if isinstance(url, URL) else parse_url(resolve_url(url))
        self.url = safe_url(self._url)
        """The database URL with its password masked; safe to log."""
        self.backend = self._url.get_backend_name()
        self.engine = build_engine(self._url)
        self._tables = list(tables) if tables is not None else None
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self.last_error: str | None = None
        """Why the last ``ping`` failed, password-free; None when it succeeded."""

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite file's path, or None (PostgreSQL, or an in-memory or URI database)."""
        database = self._url.database
        if self.backend != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
            return None
        return database

    def sibling(self, suffix: str, tables: Sequence[Table]) -> Database:
        """A SQLite file next to this one (``<file>-<suffix>``) holding ``tables``."""
        if self.sqlite_file is None:
            raise ValueError(f"{self.url} is not a SQLite file: it has no sibling files")
        return Database(self._url.set(database=f"{self.sqlite_file}-{suffix}"), tables=tables)

    # -- errors and transactions ------------------------------------------------------------------

    def error(self, action: str, exc: SQLAlchemyError) -> StoreError:
        """``exc`` as a StoreError naming ``action`` and the URL, password removed."""
        orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = scrub(str(orig), self._url) or type(orig).__name__
        return StoreError(f"{action} failed on {self.url}: {reason}", self.url)

    @contextmanager
    def translated(self, action: str) -> Iterator[None]:
        """Turn driver errors into ``StoreError``; anything else (a caller's ``fn``) passes through."""
        try:
            yield
        except SQLAlchemyError as exc:
            error = self.error(action, exc)
            # Drop the driver exception from the chain if it could carry the password.
            leaks = bool(self._url.password) and str(self._url.password) in str(exc)
            raise error from (None if leaks else exc)

    @contextmanager
    def transaction(self, action: str, *, write: bool) -> Iterator[Connection]:
        """One transaction; on SQLite writes take the write lock at BEGIN (``BEGIN IMMEDIATE``)."""
        self.ensure_schema()
        with self.translated(action), self.engine.connect() as conn:
            if write and self.backend == "sqlite":
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

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
            with self.translated("creating the schema"), self.engine.connect() as conn:
                if self.backend == "sqlite":
                    conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    if self.backend == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                    Base.metadata.create_all(conn, tables=self._tables)
            self._schema_ready = True

    # -- readiness and lifecycle -------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the database answers and the schema exists; never raises (for /readyz)."""
        try:
            self.ensure_schema()
            with self.translated("checking the database"), self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except StoreError as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:  # readiness must answer, whatever went wrong
            self.last_error = f"checking the database failed on {self.url}: {type(exc).__name__}"
            return False
        self.last_error = None
        return True

    def close(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
