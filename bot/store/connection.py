"""Which database, and how to reach it: URL resolution, engine settings, error wording.

Kept apart from the store's logic so that the rules a deployer cares about (defaults,
timeouts, what an error message may reveal) are in one short file.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
CONNECT_TIMEOUT_S = 5
"""A missing PostgreSQL must fail /readyz in seconds, not hang a worker thread."""
SQLITE_BUSY_TIMEOUT_S = 30
"""How long a SQLite writer waits for another process's write lock before giving up."""
SQLITE_CACHE_KIB = 512
"""SQLite page cache per connection (SQLite's default is 2 MB). Every pooled connection of every
process fills its cache as the files grow, so this is what the long-running bot's memory
grows by before it levels off; the working set (recent conversations, open inbox items) fits."""
SQLITE_BEGIN_OPTION = "nginx_triage_sqlite_begin"
"""Execution option naming the BEGIN flavour (``IMMEDIATE``) for the next SQLite transaction."""


class StoreError(RuntimeError):
    """The database could not be used. The message names the URL without its password."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


def state_dir() -> Path:
    """Where the default SQLite file lives (XDG state dir, overridable); created."""
    explicit = os.environ.get("NGINX_TRIAGE_STATE_DIR")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_STATE_HOME")
        base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
        path = base / "nginx-triage"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_url(url: str | None) -> str:
    """``url``, else ``DATABASE_URL``, else a SQLite file in the state dir."""
    if url:
        return url
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return env
    return f"sqlite:///{state_dir() / 'nginx-triage.sqlite3'}"


def parse_url(raw: str) -> URL:
    """Parse and normalise a URL; ``postgres://`` and driverless ``postgresql://`` get psycopg 3,
    the only PostgreSQL driver installed."""
    try:
        url = make_url(raw)
    except ArgumentError:
        # The raw text may hold a password: never echo it.
        raise StoreError(
            "DATABASE_URL is not a valid database URL (expected e.g. "
            "postgresql+psycopg://user@host:5432/db or sqlite:///path/file.sqlite3)"
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise StoreError(f"unsupported database {safe_url(url)}: use SQLite or PostgreSQL", safe_url(url))
    return url


def safe_url(url: URL) -> str:
    """The URL as it may appear in logs and messages: password masked."""
    return url.render_as_string(hide_password=True)


def scrub(text: str, url: URL) -> str:
    """Remove the password from driver text, fold whitespace, keep it short."""
    if url.password:
        text = text.replace(str(url.password), "***")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 300 else text[:297] + "..."


def build_engine(url: URL) -> Engine:
    """An engine tuned for a few bot worker threads per replica."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # Defaults only: ``?connect_timeout=`` or ``?application_name=`` in the URL win
    # (SQLAlchemy lets connect_args override the URL, so leave those keys out then).
    defaults: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "nginx-triage"}
    connect_args = {k: v for k, v in defaults.items() if k not in url.query}
    try:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_timeout=10,
            pool_recycle=1800,
            connect_args=connect_args,
        )
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use {safe_url(url)}: {scrub(str(exc), url)}", safe_url(url)) from None


def _set_wal(cursor: Any, attempts: int = 50) -> None:
    """Switch the file to WAL. Switching needs the file to itself, and SQLite answers "database
    is locked" at once (no busy wait) while another process holds it, e.g. two replicas
    starting together: retry briefly. WAL is stored in the file, so once any process has
    switched it, every later connection is in WAL already; if all attempts fail, carry on in
    the default journal mode (slower readers, same correctness)."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(min(0.2, 0.01 * (attempt + 1)))


def _sqlite_engine(url: URL) -> Engine:
    """SQLite with WAL (readers do not block the writer) and BEGIN under our control.

    sqlite3's own transaction handling defers BEGIN and cannot say IMMEDIATE, so it is
    switched off and SQLAlchemy's ``begin`` event emits the BEGIN; ``Store`` asks for
    ``BEGIN IMMEDIATE`` on writes so two processes serialise on the write lock up front
    instead of failing when a read lock is upgraded.
    """
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            _set_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(SQLITE_BEGIN_OPTION) == "IMMEDIATE"
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
