"""``serve`` purges what is older than ``NGINX_TRIAGE_RETENTION_DAYS`` on its own: once when it
starts, then every hour. A real serve process on a database holding old and new rows (SQLite
and PostgreSQL): the old rows go, the new ones stay, and the purge is logged with its counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.store_rows import counts, fill

pytestmark = [pytest.mark.slow]

WAIT_S = 60.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        url = make()
        Store(url).ensure_schema()
        yield url


def test_serve_purges_rows_past_the_retention_and_keeps_the_rest(
    fake: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    fill(database_url, old_days=8)
    serve = ServeProcess.start(http_env(fake, database_url, NGINX_TRIAGE_RETENTION_DAYS="7"), tmp_path)
    try:
        serve.wait_ready()
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and any(n != 1 for n in counts(database_url).values()):
            time.sleep(0.2)
        assert counts(database_url) == dict.fromkeys(counts(database_url), 1)
        with Store(database_url) as store:
            assert store.load("T:C:old") is None and store.load("T:C:new") is not None
        purges = [line for line in serve.log_lines() if line["msg"] == "retention purge"]
        assert purges and purges[0]["retention_days"] == 7
        assert (purges[0]["conversations"], purges[0]["feedback"], purges[0]["unmatched_lines"]) == (1, 1, 1)
    finally:
        serve.stop()


def test_serve_refuses_a_retention_it_cannot_read(fake: FakeSlack, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    serve = ServeProcess.start(http_env(fake, url, NGINX_TRIAGE_RETENTION_DAYS="forever"), tmp_path)
    try:
        assert serve.proc.wait(timeout=WAIT_S) == 1
        assert "NGINX_TRIAGE_RETENTION_DAYS='forever' is not a number of days" in serve.log_text()
    finally:
        serve.stop()
