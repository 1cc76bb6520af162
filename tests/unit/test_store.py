"""The store's contract, run against SQLite (a temp file) and PostgreSQL (a fresh schema).

One module, parametrized over both backends, so the bot behaves the same on a laptop and
with several replicas. PostgreSQL skips with the reason when 127.0.0.1:5432 is down
(a failure in CI). Concurrency is shown with real processes, as replicas would be.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.store.store as store_module
from bot.cli.gaps import gaps_command
from bot.conversation.model import ConversationState
from bot.store import Store, StoreError, fingerprint
from tests.conftest_store import BACKENDS, append_many, claim_all, create_schema, database_urls, run_in_processes

SECRET = "hunter2-not-for-logs"


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of URLs to empty databases of the parametrized backend."""
    with database_urls(request.param, tmp_path) as make:
        yield make


@pytest.fixture
def store_url(fresh_url: Callable[[], str]) -> str:
    return fresh_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as s:
        yield s


def new_state(thread: str = "T1:C1:1700000000.000100") -> ConversationState:
    return ConversationState(
        thread=thread,
        pastes=["2024/05/01 10:00:00 [alert] 12#12: *3 1024 worker_connections are not enough", "nginx -T ..."],
        guide_step=2,
        guide_done=[1],
        environment="systemd",
        target_concurrency=4000,
        feedback=[{"user": "U1", "value": "helpful"}],
    )


def put(state: ConversationState) -> Callable[[ConversationState | None], tuple[ConversationState, None]]:
    return lambda _current: (state, None)


def append(paste: str, thread: str) -> Callable[[ConversationState | None], tuple[ConversationState, int]]:
    def fn(current: ConversationState | None) -> tuple[ConversationState, int]:
        state = current or ConversationState(thread=thread)
        state.pastes.append(paste)
        return state, len(state.pastes)

    return fn


# -- conversations -------------------------------------------------------------------


def test_round_trip_keeps_every_field(store: Store) -> None:
    state = new_state()
    store.update(state.thread, put(state))
    loaded = store.load(state.thread)
    assert loaded == state  # ``state`` now carries the version and updated_at the store set
    assert loaded is not None and loaded.version == 1


def test_unknown_thread_loads_as_none_and_update_starts_from_none(store: Store) -> None:
    assert store.load("nope") is None
    seen: list[ConversationState | None] = []

    def fn(current: ConversationState | None) -> tuple[ConversationState, str]:
        seen.append(current)
        return ConversationState(thread="nope"), "result"

    assert store.update("nope", fn) == "result"
    assert seen == [None]


def test_each_update_bumps_version_and_updated_at(store: Store) -> None:
    thread = "T1:C1:2"
    stamps = []
    for expected in (1, 2, 3):
        assert store.update(thread, append(f"paste {expected}", thread)) == expected
        loaded = store.load(thread)
        assert loaded is not None and loaded.version == expected
        stamps.append(loaded.updated_at)
    assert stamps == sorted(stamps) and stamps[0] > 0


def test_fn_that_raises_writes_nothing(store: Store) -> None:
    def boom(_current: ConversationState | None) -> tuple[ConversationState, None]:
        raise RuntimeError("engine failed")

    with pytest.raises(RuntimeError, match="engine failed"):
        store.update("new-thread", boom)
    assert store.load("new-thread") is None  # not even the PostgreSQL placeholder row

    store.update("old-thread", append("first", "old-thread"))
    with pytest.raises(RuntimeError):
        store.update("old-thread", boom)
    loaded = store.load("old-thread")
    assert loaded is not None and loaded.version == 1 and loaded.pastes == ["first"]
    # And the thread is not left locked.
    assert store.update("new-thread", append("x", "new-thread")) == 1


def test_state_of_another_thread_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="other"):
        store.update("this", lambda _c: (ConversationState(thread="other"), None))
    assert store.load("this") is None


def test_second_update_waits_for_the_first_even_on_a_new_thread(store_url: str) -> None:
    """While one replica is inside ``fn``, another on the same thread waits, then sees its write."""
    thread = "T1:C1:new"
    inside, release = threading.Event(), threading.Event()
    errors: list[str] = []
    seen_by_second: list[list[str]] = []

    def slow(current: ConversationState | None) -> tuple[ConversationState, None]:
        inside.set()
        assert release.wait(20)
        state = current or ConversationState(thread=thread)
        state.pastes.append("first")
        return state, None

    def second(current: ConversationState | None) -> tuple[ConversationState, None]:
        seen_by_second.append(list(current.pastes) if current else [])
        assert current is not None
        current.pastes.append("second")
        return current, None

    def run(fn: Callable[[ConversationState | None], tuple[ConversationState, None]]) -> None:
        try:
            with Store(store_url) as s:
                s.update(thread, fn)
        except BaseException:
            errors.append(traceback.format_exc())

    with Store(store_url) as s:
        s.ensure_schema()
    a = threading.Thread(target=run, args=(slow,))
    a.start()
    assert inside.wait(20)
    b = threading.Thread(target=run, args=(second,))
    b.start()
    time.sleep(0.5)
    assert b.is_alive(), "the second update did not wait for the first"
    release.set()
    a.join(30)
    b.join(30)
    assert not errors, errors
    assert seen_by_second == [["first"]]
    with Store(store_url) as s:
        loaded = s.load(thread)
    assert loaded is not None and loaded.pastes == ["first", "second"] and loaded.version == 2


@pytest.mark.slow
def test_concurrent_updates_from_two_processes_lose_nothing(store_url: str) -> None:
    thread = "T1:C1:race"
    started = time.monotonic()
    done = run_in_processes(append_many, [(store_url, thread, 50), (store_url, thread, 50)])
    assert done == [50, 50]
    assert time.monotonic() - started < 90
    with Store(store_url) as s:
        loaded = s.load(thread)
    assert loaded is not None
    assert len(loaded.pastes) == 100 and len(set(loaded.pastes)) == 100
    assert loaded.version == 100


# -- Slack event dedupe --------------------------------------------------------------


def test_claim_event_is_true_once(store: Store, store_url: str) -> None:
    assert store.claim_event("Ev01") is True
    assert store.claim_event("Ev01") is False
    assert store.claim_event("Ev02") is True
    with Store(store_url) as other:
        assert other.claim_event("Ev01") is False  # another replica agrees


def test_event_ids_older_than_a_day_are_pruned(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = datetime.now(UTC) - timedelta(hours=25)
    with Store(store_url) as s, monkeypatch.context() as m:
        m.setattr(store_module, "utc_now", lambda: old)
        assert s.claim_event("Ev-old")
        assert s.claim_event("Ev-recent-but-stamped-old")
    with Store(store_url) as s:  # a freshly started replica prunes on its first claim
        assert s.claim_event("Ev-new")
        assert s.claim_event("Ev-old") is True  # pruned, so claimable again
        assert s.claim_event("Ev-new") is False


@pytest.mark.slow
def test_concurrent_claims_from_two_processes_give_one_true_per_id(store_url: str) -> None:
    ids = [f"Ev{i:04d}" for i in range(100)]
    a, b = run_in_processes(claim_all, [(store_url, ids), (store_url, ids)])
    assert [x + y for x, y in zip(a, b, strict=True)] == [1] * len(ids)


# -- schema --------------------------------------------------------------------------


@pytest.mark.slow
def test_schema_creation_from_two_processes_at_once(fresh_url: Callable[[], str]) -> None:
    for _ in range(3):
        url = fresh_url()
        assert run_in_processes(create_schema, [(url,), (url,)]) == [True, True]
        with Store(url) as s:
            assert s.ping()


# -- feedback and KB gaps ------------------------------------------------------------


def test_feedback_is_recorded_in_order(store: Store) -> None:
    store.record_feedback("T1:C1:3", "U1", "helpful")
    store.record_feedback("T1:C1:3", "U2", "not_helpful", "wanted the systemd fix — ünïcode")
    store.record_feedback("other", "U3", "human")
    got = store.feedback_for("T1:C1:3")
    assert [(f.user, f.value, f.comment) for f in got] == [
        ("U1", "helpful", None),
        ("U2", "not_helpful", "wanted the systemd fix — ünïcode"),
    ]
    assert got[0].created_at.tzinfo is not None


def test_gaps_group_lines_by_shape_most_frequent_first(store: Store) -> None:
    a1 = "2024/05/01 10:00:00 [error] 12#12: *3 mystery failure on 10.0.0.1:8080 after 17 ms"
    a2 = "2024/05/02 11:30:09 [error] 99#99: *41 mystery failure on 192.168.1.20:9000 after 230 ms"
    b = "2024/05/01 10:00:00 [warn] 12#12: something else entirely"
    assert fingerprint(a1) == fingerprint(a2) != fingerprint(b)
    store.record_unmatched([b, "", "   "])
    store.record_unmatched([a1, a2])
    store.record_unmatched([a2])
    gaps = store.gaps()
    assert [(g.sample, g.count) for g in gaps] == [(a1, 3), (b, 1)]
    assert gaps[0].first_seen <= gaps[0].last_seen
    assert gaps[0].fingerprint == fingerprint(a1)
    assert store.gaps(limit=1) == gaps[:1]
    assert store.gaps(limit=0) == []


def test_gap_sample_is_cut_at_500_chars(store: Store) -> None:
    store.record_unmatched(["x" * 2000])
    (gap,) = store.gaps()
    assert gap.sample == "x" * 500 and gap.count == 1


def test_gaps_keep_first_seen_and_move_last_seen(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = datetime(2024, 1, 1, tzinfo=UTC)
    with monkeypatch.context() as m:
        m.setattr(store_module, "utc_now", lambda: earlier)
        store.record_unmatched(["odd line 1"])
    store.record_unmatched(["odd line 2"])
    (gap,) = store.gaps()
    assert gap.count == 2 and gap.first_seen == earlier and gap.last_seen > earlier


# -- readiness and errors ------------------------------------------------------------


def test_ping_is_true_on_a_working_database(store: Store) -> None:
    assert store.ping() is True and store.last_error is None


def test_dead_database_fails_fast_and_never_shows_the_password() -> None:
    store = Store(f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test")
    started = time.monotonic()
    assert store.ping() is False
    assert time.monotonic() - started < 10
    assert store.last_error is not None
    assert "127.0.0.1:1" in store.last_error and SECRET not in store.last_error
    with pytest.raises(StoreError) as info:
        store.load("thread")
    text = "".join(traceback.format_exception(info.value))
    assert SECRET not in text and "***" in str(info.value) and "127.0.0.1:1" in str(info.value)
    assert info.value.url == "postgresql+psycopg://postgres:***@127.0.0.1:1/test"
    store.close()


def test_unsupported_or_invalid_urls_are_clear_errors() -> None:
    with pytest.raises(StoreError, match="unsupported database"):
        Store(f"mysql://root:{SECRET}@127.0.0.1/db")
    with pytest.raises(StoreError) as info:
        Store(f"not a url {SECRET}")
    assert SECRET not in str(info.value)


def test_plain_postgres_urls_use_psycopg() -> None:
    for raw in ("postgres://u@127.0.0.1:1/db", "postgresql://u@127.0.0.1:1/db"):
        assert Store(raw).url == "postgresql+psycopg://u@127.0.0.1:1/db"


# -- where the default database lives -------------------------------------------------


def test_default_is_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/from-env.sqlite3")
    assert Store().url.endswith("from-env.sqlite3")


def test_default_sqlite_file_in_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NGINX_TRIAGE_STATE_DIR", str(tmp_path / "explicit"))
    with Store() as s:
        assert s.url == f"sqlite:///{tmp_path}/explicit/nginx-triage.sqlite3"
        assert s.ping()
    monkeypatch.delenv("NGINX_TRIAGE_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert Store().url == f"sqlite:///{tmp_path}/xdg/nginx-triage/nginx-triage.sqlite3"
    assert (tmp_path / "xdg" / "nginx-triage").is_dir()
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Store().url == f"sqlite:///{tmp_path}/home/.local/state/nginx-triage/nginx-triage.sqlite3"


# -- nginx-triage kb gaps --------------------------------------------------------------


def test_gaps_command_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/gaps.sqlite3"
    line = "2024/05/01 10:00:00 [error] 12#12: *3 mystery [upstream] on 10.0.0.1"
    with Store(url) as s:
        s.record_unmatched([line, line.replace("10.0.0.1", "10.0.0.2"), "other line"])
    assert gaps_command(10, "json", url) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["sample"], r["count"]) for r in rows] == [(line, 2), ("other line", 1)]
    assert rows[0]["first_seen"].endswith("+00:00")
    assert gaps_command(1, "text", url) == 0
    out = capsys.readouterr().out
    assert "[upstream]" in out and "other line" not in out  # brackets are text, not rich markup


def test_gaps_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gaps_command(10, "text", f"sqlite:///{tmp_path}/empty.sqlite3") == 0
    assert "No unmatched lines" in capsys.readouterr().out
    assert gaps_command(10, "yaml", None) == 2
    assert gaps_command(0, "text", None) == 2
    assert gaps_command(10, "text", f"postgresql://u:{SECRET}@127.0.0.1:1/x") == 1
    err = capsys.readouterr().err
    assert "127.0.0.1:1" in err and SECRET not in err
