"""Exactly once, for real: ``nginx-triage serve`` processes SIGKILLed (with their workers) in
the middle of bursts, under CPU load, on SQLite (the default store) and PostgreSQL. Every
event that got its HTTP 200 is answered, and none twice: each reply carries its event id in
Slack message metadata, and a recovered turn reads the thread (``conversations.replies`` on
the fake Slack) before it posts.

The burst is ``NGINX_TRIAGE_BURST`` events (default 40; ``make bench`` runs 500). Every wait
is bounded; the CPU load is a busy-loop subprocess with a deadline of its own.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.slack.delivery.inbox_table import InboxTable
from bot.store import Store
from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Message, form_body, sign
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, USER, mention
from tests.integration.test_slack_http import ALERT
from tests.integration.test_slack_inbox import post_event, wait_until

pytestmark = [pytest.mark.slow]

BURST = int(os.environ.get("NGINX_TRIAGE_BURST", "40"))
SENDERS = 8
LEASE_S = 2.0
POLL_S = 0.3
CPU_LOAD_S = 120.0
"""The busy loop stops by itself after this, whatever happens to the test."""
BUSY_TEXT = "send it again"
QUEUE_SIZE = 5
"""Turns queued per worker: small, so a burst overflows it and waits in the inbox."""


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


@pytest.fixture
def serve(fake: FakeSlack, tmp_path: Path) -> Iterator[Callable[[str, str], ServeProcess]]:
    """Start ``serve`` processes with the default inbox setting (on), short leases."""
    started: list[ServeProcess] = []

    def start(name: str, database_url: str) -> ServeProcess:
        env = http_env(
            fake,
            database_url,
            NGINX_TRIAGE_WORKERS="2",
            NGINX_TRIAGE_INBOX_LEASE_S=str(LEASE_S),
            NGINX_TRIAGE_INBOX_POLL_S=str(POLL_S),
            NGINX_TRIAGE_QUEUE_SIZE=str(QUEUE_SIZE),
        )
        proc = ServeProcess.start(env, tmp_path, f"serve-{name}")
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.stop()
    for proc in started:
        assert BOT_TOKEN not in proc.log_text()
        assert "Traceback" not in proc.log_text()


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """One busy loop per CPU, each bounded by its own deadline."""
    code = f"import time\nend = time.monotonic() + {CPU_LOAD_S}\nwhile time.monotonic() < end:\n    pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)


def answers(fake: FakeSlack, event_id: str) -> list[Message]:
    """The first reply of the turn for ``event_id`` (part 0 of its replies), however many times posted."""
    with fake._lock:
        return [
            m
            for m in fake.messages
            if (m.metadata or {}).get("event_payload", {}).get("event_id") == event_id
            and m.metadata["event_payload"].get("part") == 0
        ]


def root_of(i: int) -> str:
    return f"1800100{i:03d}.000100"


def test_a_reply_posted_just_before_the_kill_is_not_posted_again(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, database_url: str
) -> None:
    a = serve("a", database_url)
    root = "1800099000.000100"
    fake.delay_answer_next("chat.postMessage", 20)  # posted, but the worker never hears so
    assert post_event(a, mention(ALERT, root), "EvPostedThenKilled") == 200
    fake.wait_for(lambda: fake.thread_messages(CHANNEL, root), 30, "the reply in the thread")
    a.kill()  # between the post and the inbox bookkeeping: the window that used to answer twice
    inbox = InboxTable.connect(database_url)
    try:
        entry = inbox.entry("EvPostedThenKilled")
        assert entry is not None and entry.done_at is None
        b = serve("b", database_url)
        wait_until(lambda: (e := inbox.entry("EvPostedThenKilled")) and e.done_at, 60, "the item done by b")
        fake.wait_quiet(1.0)
        assert len(fake.thread_messages(CHANNEL, root)) == 1
        assert len(answers(fake, "EvPostedThenKilled")) == 1
        assert fake.calls_to("conversations.replies"), "the recovered turn did not check the thread"
        assert "reply already posted by an earlier run" in b.log_text()
    finally:
        inbox.close()


def test_a_slash_command_killed_after_opening_its_thread_continues_under_the_same_opener(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, database_url: str
) -> None:
    """The command's top-level message carries the inbox item's id; the re-run finds it in the
    channel's history and answers under it instead of opening a second thread."""
    a = serve("a", database_url)
    fake.delay_answer_next("chat.postMessage", 20)  # the opener is posted; the worker never hears
    body = form_body(
        {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": USER,
            "command": "/nginx-triage",
            "text": "diagnose " + ALERT,
            "response_url": fake.response_url("cmd-kill"),
            "trigger_id": "1.2.cmdkill",
        }
    )
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    conn.request(
        "POST",
        "/slack/events",
        body=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )
    assert conn.getresponse().status == 200

    def openers() -> list[Message]:
        with fake._lock:
            return [m for m in fake.messages if "asked me to diagnose" in m.text]

    fake.wait_for(openers, 30, "the command's thread opener")
    a.kill()
    b = serve("b", database_url)
    (opener,) = openers()
    wait_until(lambda: fake.thread_messages(CHANNEL, opener.ts), 60, "the diagnosis under the opener")
    fake.wait_quiet(1.0)
    assert len(openers()) == 1, "a second thread was opened for the same command"
    assert "worker_connections are not enough" in str(fake.thread_messages(CHANNEL, opener.ts)[0].blocks)
    assert "thread opener already posted by an earlier run" in b.log_text()
    assert fake.calls_to("conversations.history")


def test_a_burst_under_cpu_load_with_kill_9_loses_nothing_and_answers_nothing_twice(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, database_url: str, cpu_load: None
) -> None:
    a = serve("a", database_url)
    ids = [f"EvBurst{i:04d}" for i in range(BURST)]
    acked: set[str] = set()
    lock = threading.Lock()
    kill_after = BURST // 2
    killed = threading.Event()

    def send(i: int, target: ServeProcess) -> None:
        try:
            status = post_event(target, mention(ALERT, root_of(i)), ids[i])
        except OSError:
            return  # its process was killed: not acked, Slack would retry it
        if status == 200:
            with lock:
                acked.add(ids[i])
                if len(acked) >= kill_after and not killed.is_set():
                    killed.set()
                    a.kill()  # mid-burst: turns queued, running and half-posted

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda i: send(i, a), range(BURST)))
    assert killed.is_set() and acked
    b = serve("b", database_url)
    # Slack retries what was never acked; b gets those (and a duplicate of some acked ones).
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda i: send(i, b), [i for i in range(BURST) if ids[i] not in acked or i % 7 == 0]))
    assert acked == set(ids)
    deadline_s = 60 + BURST * 0.6
    wait_until(lambda: all(answers(fake, e) for e in ids), deadline_s, f"all {BURST} events answered")
    fake.wait_quiet(2.0, timeout=60)
    twice = [e for e in ids if len(answers(fake, e)) != 1]
    assert twice == [], f"answered more than once: {twice}"
    with fake._lock:
        assert not [m for m in fake.messages if BUSY_TEXT in m.text], "a 'send it again' note"
    inbox = InboxTable.connect(database_url)
    try:
        wait_until(lambda: inbox.pending_count() == 0, 30, "the inbox drained")
    finally:
        inbox.close()
    print(f"burst of {BURST}: acked {len(acked)}, answered {sum(bool(answers(fake, e)) for e in ids)}, twice 0")


def test_a_burst_without_a_kill_is_fully_diagnosed_in_order_of_capacity(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, tmp_path: Path
) -> None:
    a = serve("a", f"sqlite:///{tmp_path / 'burst.sqlite3'}")
    ids = [f"EvCalm{i:04d}" for i in range(BURST)]
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        statuses = list(pool.map(lambda i: post_event(a, mention(ALERT, root_of(500 + i)), ids[i]), range(BURST)))
    assert statuses == [200] * BURST
    assert a.metrics()["nginx_triage_turns_deferred_total"] > 0, "the burst never overflowed the queue"
    wait_until(lambda: all(answers(fake, e) for e in ids), 60 + BURST * 0.6, f"all {BURST} answered")
    elapsed = time.monotonic() - started
    assert all(len(answers(fake, e)) == 1 for e in ids)
    with fake._lock:
        assert not [m for m in fake.messages if BUSY_TEXT in m.text]
    print(f"burst of {BURST} on SQLite without a kill: all diagnosed in {elapsed:.1f} s")
