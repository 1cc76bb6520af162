"""Shared helpers for the store tests: a throwaway PostgreSQL schema per test, SQLite
files, and a way to run store calls from several real processes at once.

PostgreSQL is only ever 127.0.0.1:5432. When it is not reachable the tests skip with the
reason, unless CI=true or NGINX_TRIAGE_REQUIRE_POSTGRES=1 make it a failure.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.conversation.model import ConversationState
from bot.store import Store

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
PROCESS_TIMEOUT_S = 90


def postgres_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("NGINX_TRIAGE_REQUIRE_POSTGRES") == "1"


def postgres_unreachable_reason() -> str | None:
    """None when something listens on 127.0.0.1:5432, else why not."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return None
    except OSError as exc:
        return (
            f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({exc}); "
            "set NGINX_TRIAGE_REQUIRE_POSTGRES=1 to make this a failure"
        )


def skip_or_fail_without_postgres() -> None:
    """Skip (laptop) or fail (CI) when PostgreSQL is down."""
    reason = postgres_unreachable_reason()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def postgres_schemas() -> Iterator[Callable[[], str]]:
    """A factory of URLs, each pointing at a fresh empty schema; all dropped afterwards.

    The schema is chosen with libpq's ``options=-csearch_path=...``, so the store under
    test needs no knowledge of it and parallel runs never share tables.
    """
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    created: list[str] = []

    def make() -> str:
        name = f"nginx_triage_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        created.append(name)
        return f"{PG_ADMIN_URL}?options=-csearch_path%3D{name}"

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


# -- one database per test, of each backend ------------------------------------------------

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@contextmanager
def database_urls(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of URLs to empty databases of ``backend`` (``sqlite`` files in ``tmp_path``, or
    fresh ``postgres`` schemas, dropped afterwards); PostgreSQL down skips (laptop) or fails (CI)."""
    if backend == "sqlite":
        counter = iter(range(1_000_000))
        yield lambda: f"sqlite:///{tmp_path}/store-{next(counter)}.sqlite3"
        return
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        yield make


# -- several processes ---------------------------------------------------------------


def _entry(fn: Callable[..., Any], barrier: Any, results: Any, args: tuple[Any, ...]) -> None:
    try:
        results.put(("ok", fn(barrier, *args)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def run_in_processes(fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``fn(barrier, *a)`` in one spawned process per ``a``; their return values.

    ``fn`` waits on the barrier right before the part that must race. Spawned, not forked:
    each process builds its own engine as a replica would. Bounded by PROCESS_TIMEOUT_S.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    results = ctx.Queue()
    procs = [ctx.Process(target=_entry, args=(fn, barrier, results, a)) for a in args]
    for p in procs:
        p.start()
    outcomes: list[Any] = []
    try:
        for _ in procs:
            status, value = results.get(timeout=PROCESS_TIMEOUT_S)
            assert status == "ok", f"a worker process failed:\n{value}"
            outcomes.append(value)
    except queue.Empty:
        pytest.fail(f"worker processes did not finish within {PROCESS_TIMEOUT_S} s")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return outcomes


def _append_paste(paste: str, state: ConversationState | None, thread: str) -> tuple[ConversationState, int]:
    state = state or ConversationState(thread=thread)
    state.pastes.append(paste)
    return state, len(state.pastes)


def append_many(barrier: Any, url: str, thread: str, n: int) -> int:
    """Worker: ``n`` read-modify-writes on one thread; returns how many it did."""
    store = Store(url)
    store.ensure_schema()
    barrier.wait(timeout=30)
    for i in range(n):
        paste = f"{os.getpid()}-{i}"
        store.update(thread, lambda s, p=paste: _append_paste(p, s, thread))
    store.close()
    return n


def claim_all(barrier: Any, url: str, event_ids: list[str]) -> list[bool]:
    """Worker: claim every id, in order; the verdicts."""
    store = Store(url)
    store.ensure_schema()
    barrier.wait(timeout=30)
    verdicts = [store.claim_event(e) for e in event_ids]
    store.close()
    return verdicts


def create_schema(barrier: Any, url: str) -> bool:
    """Worker: start a store on an empty database at the same moment as the others."""
    store = Store(url)
    barrier.wait(timeout=30)
    store.ensure_schema()
    ok = store.claim_event(f"started-{os.getpid()}")
    store.close()
    return ok
