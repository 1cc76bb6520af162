"""The inbox table's contract (``bot.slack.delivery.inbox_table``), run against SQLite (a temp
file, the inbox in its sibling file) and PostgreSQL (a fresh schema, the inbox beside the
store's tables). PostgreSQL skips with the reason when 127.0.0.1:5432 is down (a failure in
CI). Concurrency is shown with real processes, as replicas would be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.slack.delivery import inbox_table
from bot.slack.delivery.inbox_table import InboxTable
from tests.conftest_store import BACKENDS, database_urls, run_in_processes


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of URLs to empty databases of the parametrized backend."""
    with database_urls(request.param, tmp_path) as make:
        yield make


@pytest.fixture
def store_url(fresh_url: Callable[[], str]) -> str:
    return fresh_url()


@pytest.fixture
def inbox(store_url: str) -> Iterator[InboxTable]:
    table = InboxTable.connect(store_url)
    yield table
    table.close()


def test_enqueue_is_true_once_across_replicas(inbox: InboxTable, store_url: str) -> None:
    assert inbox.enqueue("EvIn1", "T:C:1", '{"job": 1}') is True
    assert inbox.enqueue("EvIn1", "T:C:1", '{"job": "retry"}') is False
    other = InboxTable.connect(store_url)  # another replica
    try:
        assert other.enqueue("EvIn1", "T:C:1", "{}") is False
    finally:
        other.close()
    entry = inbox.entry("EvIn1")
    assert entry is not None and entry.payload == '{"job": 1}' and entry.attempts == 0
    assert entry.lease_owner is None and entry.done_at is None
    assert inbox.pending_count() == 1


def test_enqueue_with_an_owner_leases_it_at_once(inbox: InboxTable) -> None:
    assert inbox.enqueue("EvOwn", "T:C:1", "{}", owner="a", lease_seconds=60)
    entry = inbox.entry("EvOwn")
    assert entry is not None and entry.lease_owner == "a" and entry.attempts == 1
    assert entry.lease_until is not None and entry.lease_until > datetime.now(UTC) + timedelta(seconds=50)
    assert inbox.lease("b", 10, 60) == []  # leased and not expired: nobody else gets it
    assert inbox.complete("EvOwn", "b") is False  # not b's
    assert inbox.complete("EvOwn", "a") is True
    assert inbox.complete("EvOwn", "a") is False  # already done
    assert inbox.pending_count() == 0
    assert inbox.enqueue("EvOwn", "T:C:1", "{}") is False  # a done item still dedupes retries


def test_lease_takes_oldest_first_and_retakes_expired_leases(inbox: InboxTable) -> None:
    for i in range(3):
        assert inbox.enqueue(f"EvL{i}", f"T:C:{i}", f"p{i}")
    first = inbox.lease("a", 2, 60)
    assert [i.event_id for i in first] == ["EvL0", "EvL1"]
    assert [i.payload for i in first] == ["p0", "p1"] and all(i.attempts == 1 for i in first)
    assert [i.event_id for i in inbox.lease("b", 10, 60)] == ["EvL2"]
    assert inbox.lease("c", 10, 60) == []
    # a "dies": its leases expire and another process takes them, counting a second attempt
    assert inbox.enqueue("EvShort", "T:C:short", "p", owner="a", lease_seconds=0.2)
    time.sleep(0.4)
    again = inbox.lease("c", 10, 60)
    assert [(i.event_id, i.attempts) for i in again] == [("EvShort", 2)]
    assert inbox.complete("EvShort", "a") is False  # a lost it
    assert inbox.complete("EvShort", "c") is True


def test_lease_keeps_per_thread_order(inbox: InboxTable) -> None:
    thread, other = "T:C:100.1", "T:C:200.1"
    for event_id, key in (("EvA1", thread), ("EvB1", other), ("EvA2", thread), ("EvA3", thread)):
        assert inbox.enqueue(event_id, key, event_id)
        time.sleep(0.002)  # distinct received_at
    # One caller gets a thread's items together, in received order.
    assert [i.event_id for i in inbox.lease("a", 10, 60)] == ["EvA1", "EvB1", "EvA2", "EvA3"]
    for event_id in ("EvA1", "EvB1", "EvA2", "EvA3"):
        assert inbox.release("a", [event_id]) == 1
    # Cut by the limit: a later item of a thread is not handed to anyone else while an
    # earlier one of the same thread is leased and not done.
    assert [i.event_id for i in inbox.lease("a", 1, 60)] == ["EvA1"]
    assert [i.event_id for i in inbox.lease("b", 10, 60)] == ["EvB1"]
    assert inbox.lease("c", 10, 60) == []
    assert inbox.complete("EvA1", "a")
    assert [i.event_id for i in inbox.lease("c", 10, 60)] == ["EvA2", "EvA3"]
    # A failed earlier item holds its thread until it is retried: the retry comes first.
    assert inbox.fail("EvA2", "c", "boom") is False
    assert inbox.lease("d", 10, 60) == []  # EvA3 is still leased to c
    assert inbox.complete("EvA3", "c")
    assert [i.event_id for i in inbox.lease("d", 10, 60)] == ["EvA2"]


def test_fail_retries_then_gives_up_after_max_attempts(inbox: InboxTable) -> None:
    assert inbox.enqueue("EvPoison", "T:C:p", "{bad", owner="a")
    owner = "a"
    for attempt in range(1, inbox_table.INBOX_MAX_ATTEMPTS + 1):
        entry = inbox.entry("EvPoison")
        assert entry is not None and entry.attempts == attempt and entry.done_at is None
        gave_up = inbox.fail("EvPoison", owner, f"attempt {attempt} failed")
        assert gave_up is (attempt == inbox_table.INBOX_MAX_ATTEMPTS)
        if not gave_up:
            owner = f"o{attempt}"
            assert [i.event_id for i in inbox.lease(owner, 10, 60)] == ["EvPoison"]
    entry = inbox.entry("EvPoison")
    assert entry is not None and entry.done_at is not None and entry.lease_owner is None
    assert entry.last_error == f"attempt {inbox_table.INBOX_MAX_ATTEMPTS} failed"
    assert inbox.lease("z", 10, 60) == [] and inbox.pending_count() == 0


def test_lease_gives_up_an_item_whose_runners_keep_dying(inbox: InboxTable) -> None:
    """A payload that kills the process running it never gets to call ``fail``: the lease counts."""
    assert inbox.enqueue("EvCrash", "T:C:k", "{}")
    for _ in range(inbox_table.INBOX_MAX_ATTEMPTS):
        assert [i.event_id for i in inbox.lease("doomed", 10, 0.05)] == ["EvCrash"]
        time.sleep(0.1)  # the runner died; its lease expires
    assert inbox.lease("next", 10, 60) == []
    entry = inbox.entry("EvCrash")
    assert entry is not None and entry.done_at is not None and entry.last_error == "its turn never finished"


def test_renew_release_and_prune(inbox: InboxTable) -> None:
    assert inbox.enqueue("EvR1", "T:C:r", "{}", owner="a", lease_seconds=0.3)
    assert inbox.enqueue("EvR2", "T:C:s", "{}", owner="a", lease_seconds=0.3)
    assert inbox.renew("a", ["EvR1", "EvR2"], 60) == 2
    assert inbox.renew("b", ["EvR1"], 60) == 0
    time.sleep(0.5)
    assert inbox.lease("b", 10, 60) == []  # renewed: still a's
    assert inbox.release("a", ["EvR1"]) == 1
    released = inbox.entry("EvR1")
    assert released is not None and released.attempts == 0 and released.lease_owner is None
    assert [i.event_id for i in inbox.lease("b", 10, 60)] == ["EvR1"]
    assert inbox.complete("EvR1", "b") and inbox.complete("EvR2", "a")
    assert inbox.pending_count() == 0
    assert inbox.prune() == 0  # done just now: kept
    assert inbox.prune(datetime.now(UTC) + inbox_table.INBOX_RETENTION + timedelta(minutes=1)) == 2
    assert inbox.entry("EvR1") is None


def lease_all(barrier: Any, url: str, owner: str, rounds: int) -> list[tuple[str, str, float]]:
    """Worker: lease, 'run' and complete until nothing is left; (event id, thread, when run)."""
    inbox = InboxTable.connect(url)
    inbox.ensure_schema()
    barrier.wait(timeout=30)
    ran: list[tuple[str, str, float]] = []
    idle = 0
    while idle < rounds:
        items = inbox.lease(owner, 3, 30)
        if not items:
            idle += 1
            time.sleep(0.02)
            continue
        idle = 0
        for item in items:
            ran.append((item.event_id, item.thread, time.monotonic()))
            time.sleep(0.002)
            assert inbox.complete(item.event_id, owner)
    inbox.close()
    return ran


def test_concurrent_leasers_take_each_item_once_in_thread_order(inbox: InboxTable, store_url: str) -> None:
    expected: dict[str, list[str]] = {}
    for n in range(60):
        thread = f"T:C:{n % 6}"
        event_id = f"EvC{n:03d}"
        assert inbox.enqueue(event_id, thread, "{}")
        expected.setdefault(thread, []).append(event_id)
    results = run_in_processes(lease_all, [(store_url, f"w{i}", 15) for i in range(3)])
    ran = sorted((when, event_id, thread) for part in results for event_id, thread, when in part)
    assert sorted(e for _, e, _ in ran) == sorted(e for ids in expected.values() for e in ids)  # each once
    for thread, ids in expected.items():
        assert [e for _, e, t in ran if t == thread] == ids, thread  # received order, across processes
    assert inbox.pending_count() == 0
