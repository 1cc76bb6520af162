"""Keep less: rows older than the retention are purged (SQLite and PostgreSQL), newer ones kept;
the setting, the purge job's failure handling, and ``nginx-triage store purge`` on both databases."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from bot.slack.settings import SettingsError, SlackSettings
from bot.store import Purged, RetentionJob, Store, StoreError
from bot.store.retention import DEFAULT_RETENTION_DAYS, parse_retention_days
from tests.conftest_store import BACKENDS, database_urls
from tests.store_rows import counts, fill

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_purge_deletes_rows_older_than_the_retention_and_keeps_the_rest(backend: str, tmp_path: Path) -> None:
    with database_urls(backend, tmp_path) as make:
        url = make()
        fill(url, old_days=31)
        assert counts(url) == dict.fromkeys(counts(url), 2)
        with Store(url) as store:
            assert store.purge(40) == Purged()  # nothing is that old
            purged = store.purge(30)
            assert purged == Purged(conversations=1, feedback=1, unmatched_lines=1, processed_events=1)
            assert store.load("T:C:old") is None and store.load("T:C:new") is not None
            assert [r.value for r in store.feedback_for("T:C:new")] == ["helpful"]
            assert [g.sample for g in store.gaps()] == ["2024/01/01 00:00:00 [error] 1#1: strange new thing"]
        assert counts(url) == dict.fromkeys(counts(url), 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_store_purge_command_uses_the_configured_retention(backend: str, tmp_path: Path) -> None:
    with database_urls(backend, tmp_path) as make:
        url = make()
        fill(url, old_days=10)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NGINX_TRIAGE_", "DATABASE_URL"))}
        run = [str(ROOT / ".venv" / "bin" / "nginx-triage"), "store", "purge"]
        kept = subprocess.run(run, env={**env, "DATABASE_URL": url}, capture_output=True, text=True, timeout=120)
        assert kept.returncode == 0, kept.stderr
        assert kept.stdout.startswith("purged 0 row(s) older than 30 day(s)")  # the default keeps 10-day-old rows
        done = subprocess.run(
            run,
            env={**env, "DATABASE_URL": url, "NGINX_TRIAGE_RETENTION_DAYS": "7"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "purged 4 row(s) older than 7 day(s)" in done.stdout
        assert "1 conversation(s), 1 feedback click(s), 1 unmatched line shape(s), 1 event id(s)" in done.stdout
        assert counts(url) == dict.fromkeys(counts(url), 1)
        days = subprocess.run([*run, "--days", "0"], env=env, capture_output=True, text=True, timeout=120)
        assert days.returncode == 2 and "--days" in days.stderr


def test_a_bad_retention_setting_is_a_clear_error() -> None:
    assert parse_retention_days("") == DEFAULT_RETENTION_DAYS == 30
    assert parse_retention_days(" 7 ") == 7
    for bad in ("0", "-3", "thirty", "1.5", "99999999"):
        with pytest.raises(ValueError, match="NGINX_TRIAGE_RETENTION_DAYS"):
            parse_retention_days(bad)
    assert SlackSettings.from_env({"NGINX_TRIAGE_RETENTION_DAYS": "14"}).retention_days == 14
    assert SlackSettings.from_env({}).retention_days == 30
    with pytest.raises(SettingsError, match="NGINX_TRIAGE_RETENTION_DAYS"):
        SlackSettings.from_env({"NGINX_TRIAGE_RETENTION_DAYS": "never"})


class _FlakyStore:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def purge(self, days: int) -> Purged:
        self.calls.append(days)
        if len(self.calls) == 1:
            raise StoreError("the database is down")
        return Purged(conversations=2)


def test_the_job_survives_a_database_outage_and_purges_at_the_next_round() -> None:
    store, stop = _FlakyStore(), threading.Event()
    job = RetentionJob(store, 3, stop, interval_s=0.05).start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if len(store.calls) >= 2:
                break
            deadline.wait(0.05)
    finally:
        stop.set()
    assert store.calls[:2] == [3, 3] and job.rounds >= 2
