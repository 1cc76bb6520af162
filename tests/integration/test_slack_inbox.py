"""The durable inbox (``bot.slack.delivery.inbox``) with real ``nginx-triage serve`` processes.

Each serve process runs in HTTP mode on a free 127.0.0.1 port, with turn worker processes,
against the fake Slack on 127.0.0.1 and a shared database (a SQLite file, or a fresh
PostgreSQL schema on 127.0.0.1:5432). Turns are made slow in a controlled way without any
hook in the product: the fake Slack answers the turn's ``chat.postMessage`` with HTTP 429
and ``Retry-After``, so the worker is waiting inside the turn when the process is
SIGKILLed (with its workers: it is a session leader). Leases are short here
(``NGINX_TRIAGE_INBOX_LEASE_S``, ``NGINX_TRIAGE_INBOX_POLL_S``) so recovery is quick; every
wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.slack.delivery.inbox_table import INBOX_MAX_ATTEMPTS, InboxTable
from bot.store import Store
from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, event_body, sign
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, mention, thread_message
from tests.integration.test_slack_http import ALERT, NGINX_T, content, replies
from tests.integration.test_slack_replicas import delta

pytestmark = [pytest.mark.slow]

LEASE_S = 2.0
POLL_S = 0.3
RECOVERY_WAIT_S = 45.0
"""Upper bound for a survivor to answer: lease expiry + a poll + a worker start + the turn."""
INBOX_WRITE_FAILURES = "nginx_triage_inbox_write_failures_total"
RECOVERED = "nginx_triage_inbox_recovered_total"
REPLIES = "nginx_triage_replies_sent_total"


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
    """Start ``nginx-triage serve`` processes, ready (stopped, or killed, at the end)."""
    started: list[ServeProcess] = []

    def start(name: str, database_url: str) -> ServeProcess:
        env = http_env(
            fake,
            database_url,
            NGINX_TRIAGE_WORKERS="2",
            NGINX_TRIAGE_INBOX="on",  # SQLite would default to off (auto)
            NGINX_TRIAGE_INBOX_LEASE_S=str(LEASE_S),
            NGINX_TRIAGE_INBOX_POLL_S=str(POLL_S),
        )
        replica = ServeProcess.start(env, tmp_path, f"serve-{name}")
        started.append(replica)
        replica.wait_ready()
        return replica

    yield start
    for replica in started:
        replica.stop()
    for replica in started:
        assert BOT_TOKEN not in replica.log_text(), "the bot token was logged"


def post_event(replica: ServeProcess, event: dict[str, object], event_id: str, retry_num: int | None = None) -> int:
    """A signed Events API delivery straight to one serve process; the HTTP status."""
    body = event_body(event, event_id)
    headers = {"Content-Type": "application/json", **sign(body)}
    if retry_num:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    try:
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def hold_next_post(fake: FakeSlack, seconds: int = 30) -> None:
    """The next chat.postMessage gets a 429: the turn waits ``seconds`` inside the worker."""
    fake.rate_limit_next("chat.postMessage", times=1, retry_after=seconds)


def test_an_event_acked_by_a_killed_process_is_answered_once_by_the_next(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, database_url: str
) -> None:
    root = "1800000500.000100"
    a = serve("a", database_url)
    hold_next_post(fake)
    assert post_event(a, mention(ALERT, root), "EvInboxKill") == 200
    fake.wait_for(lambda: fake.calls_to("chat.postMessage"), 20, "the turn's first post (held by a 429)")
    a.kill()  # acked, turn half done, nothing posted: Slack will not send it again

    inbox = InboxTable.connect(database_url)
    try:
        entry = inbox.entry("EvInboxKill")
        assert entry is not None and entry.done_at is None and entry.attempts == 1
        assert fake.thread_messages(CHANNEL, root) == []

        b = serve("b", database_url)  # another replica, or the same one restarted
        started = time.monotonic()
        first = replies(fake, root, 1, "the answer from the survivor")[0]
        assert "worker_connections are not enough" in content(first)
        assert time.monotonic() - started < RECOVERY_WAIT_S
        done = wait_until(lambda: (e := inbox.entry("EvInboxKill")) and e.done_at and e, 20, "the item done")
        assert done.attempts == 2  # type: ignore[attr-defined]
        assert done.lease_owner != entry.lease_owner  # type: ignore[attr-defined]
        # Slack's retry of the same event (it timed out on its side) is still answered once.
        assert post_event(b, mention(ALERT, root), "EvInboxKill", retry_num=1) == 200
        fake.wait_quiet(1.0)
        assert len(fake.thread_messages(CHANNEL, root)) == 1
        assert inbox.pending_count() == 0
        assert b.metrics().get(RECOVERED, 0) >= 1
    finally:
        inbox.close()


def test_two_events_of_one_thread_are_recovered_in_order(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'order.sqlite3'}"
    root = "1800000501.000100"
    a = serve("a", url)
    hold_next_post(fake)
    assert post_event(a, mention(ALERT, root), "EvOrder1") == 200
    fake.wait_for(lambda: fake.calls_to("chat.postMessage"), 20, "the first turn's post (held by a 429)")
    # The paste behind it: a reply in the thread, only answered in a thread the bot knows,
    # so it gets no answer at all unless the mention's turn ran first.
    assert post_event(a, thread_message("nginx -T:\n" + NGINX_T, "1800000501.000201", root), "EvOrder2") == 200
    a.kill()

    inbox = InboxTable.connect(url)
    try:
        assert inbox.pending_count() == 2
        serve("b", url)
        msgs = fake.wait_for(
            lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= 2 and m,
            RECOVERY_WAIT_S,
            "both answers from the survivor",
        )
        assert "worker_connections are not enough" in content(msgs[0])
        assert "nginx.conf:5" in content(msgs[1])
        fake.wait_quiet(1.0)
        assert len(fake.thread_messages(CHANNEL, root)) == 2
        wait_until(lambda: inbox.pending_count() == 0, 20, "both items done")
        first, second = inbox.entry("EvOrder1"), inbox.entry("EvOrder2")
        assert first is not None and second is not None and first.done_at and second.done_at
        assert first.done_at <= second.done_at
    finally:
        inbox.close()


def test_a_poison_payload_stops_after_max_attempts(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'poison.sqlite3'}"
    inbox = InboxTable.connect(url)
    try:
        # Written by a newer or broken version: no replica can ever run it.
        assert inbox.enqueue(
            "EvPoison",
            "T0001:C0TRIAGE:1800000502.000100",
            json.dumps({"v": 1, "job": {"__type__": "NoSuchJob", "fields": {}}}),
        )
        a = serve("a", url)
        entry = wait_until(
            lambda: (e := inbox.entry("EvPoison")) and e.done_at and e,
            INBOX_MAX_ATTEMPTS * (POLL_S + 1) + 20,
            "the poison item given up",
        )
        assert entry.attempts == INBOX_MAX_ATTEMPTS  # type: ignore[attr-defined]
        assert "unreadable payload" in (entry.last_error or "")  # type: ignore[attr-defined]
        time.sleep(3 * POLL_S)
        after = inbox.entry("EvPoison")
        assert after is not None and after.attempts == INBOX_MAX_ATTEMPTS  # not handed out again
        assert inbox.pending_count() == 0
        assert "inbox item given up" in a.log_text()
        # The process is fine and answers the next event.
        root = "1800000502.000200"
        assert post_event(a, mention(ALERT, root), "EvAfterPoison") == 200
        replies(fake, root, 1)
    finally:
        inbox.close()


def test_a_duplicate_delivery_gets_one_reply_and_secrets_never_reach_the_inbox(
    serve: Callable[[str, str], ServeProcess], fake: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'dup.sqlite3'}"
    root = "1800000503.000100"
    secret = "s3cr3t-Inbox-Passw0rd"
    paste = ALERT + f'\nproxy_set_header Authorization "Bearer {secret}";'
    a = serve("a", url)
    before = a.metrics()
    assert post_event(a, mention(paste, root), "EvDupInbox") == 200
    assert post_event(a, mention(paste, root), "EvDupInbox", retry_num=1) == 200
    replies(fake, root, 1)
    fake.wait_quiet(1.0)
    assert len(fake.thread_messages(CHANNEL, root)) == 1
    inbox = InboxTable.connect(url)
    try:
        entry = wait_until(lambda: (e := inbox.entry("EvDupInbox")) and e.done_at and e, 20, "the item done")
        assert secret not in entry.payload and "<redacted>" in entry.payload  # type: ignore[attr-defined]
    finally:
        inbox.close()
    after = a.metrics()
    assert delta(before, after, "nginx_triage_events_duplicate_total") == 1
    assert delta(before, after, INBOX_WRITE_FAILURES) == 0
    assert delta(before, after, "nginx_triage_inbox_write_seconds_count") == 2
