"""PostgreSQL-only behaviour of the store, against the real server on 127.0.0.1:5432.

The shared contract (round trip, dedupe, no lost update, gaps) runs on both backends in
tests/unit/test_store.py; here is what only a server shows: connections the server
drops, a pool shared by many bot threads, and URLs as deployers write them.
"""

from __future__ import annotations

import threading
import traceback
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from bot.conversation.model import ConversationState
from bot.store import Store
from tests.conftest_store import PG_ADMIN_URL, postgres_schemas, skip_or_fail_without_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        yield make()


def bump(thread: str) -> Callable[[ConversationState | None], tuple[ConversationState, int]]:
    def fn(current: ConversationState | None) -> tuple[ConversationState, int]:
        state = current or ConversationState(thread=thread, target_concurrency=0)
        state.target_concurrency = (state.target_concurrency or 0) + 1
        return state, state.target_concurrency

    return fn


def test_store_survives_the_server_dropping_its_connections(pg_url: str) -> None:
    """A PostgreSQL restart or failover kills pooled connections; pre-ping replaces them."""
    app_name = f"nt-test-{uuid.uuid4().hex[:8]}"
    with Store(f"{pg_url}&application_name={app_name}") as store:
        assert store.update("T:C:1", bump("T:C:1")) == 1
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": app_name},
            ).scalar_one()
        admin.dispose()
        assert killed >= 1
        assert store.ping()
        assert store.update("T:C:1", bump("T:C:1")) == 2


def test_many_bot_threads_share_one_pool(pg_url: str) -> None:
    """More worker threads than pooled connections wait their turn instead of failing."""
    errors: list[str] = []
    with Store(pg_url) as store:
        store.ensure_schema()

        def work(n: int) -> None:
            try:
                for _ in range(10):
                    store.update("T:C:shared", bump("T:C:shared"))
                    store.update(f"T:C:{n}", bump(f"T:C:{n}"))
                    store.claim_event(f"Ev-{n}-{uuid.uuid4().hex}")
            except BaseException:
                errors.append(traceback.format_exc())

        workers = [threading.Thread(target=work, args=(n,)) for n in range(20)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert not errors, errors[0]
        shared = store.load("T:C:shared")
        assert shared is not None and shared.target_concurrency == 200 and shared.version == 200


def test_url_as_deployers_write_it(pg_url: str) -> None:
    """``postgresql://`` (no driver) reaches the server through psycopg 3."""
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with Store(plain) as store:
        assert store.ping(), store.last_error
        assert store.claim_event("Ev-plain")
