"""Two ``nginx-triage serve`` replicas in HTTP mode behind a real nginx on 127.0.0.1, one PostgreSQL.

Each replica is an OS process (``tests.fakes.serve_harness``: its own session, so it can be
killed with its turn workers) on a free 127.0.0.1 port, sharing a fresh PostgreSQL schema; nginx balances
``/slack/events`` round robin between them (one nginx worker, so the order is exact);
SLACK_API_URL points both at the fake Slack, which records every call. Each replica's own
``/metrics`` says which one handled what. Every wait is bounded.

Skips with the reason when nginx or PostgreSQL is missing, unless CI=true (then fails).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.conversation.model import ConversationState
from bot.slack.delivery.inbox_table import InboxTable
from bot.store import Store
from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import BOT_TOKEN, TEAM, FakeSlack, event_body, payload_body, sign
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, mention, thread_message
from tests.integration.nginx_harness import NGINX, Nginx, running_nginx
from tests.integration.test_slack_http import (
    ALERT,
    LIMITS,
    NGINX_T,
    WAIT_S,
    click,
    content,
    replies,
    run_whole_conversation,
)

pytestmark = [pytest.mark.nginx, pytest.mark.postgres, pytest.mark.slow]

NGINX_CONF = """
worker_processes 1;
error_log {prefix}/logs/error.log info;
pid {prefix}/nginx.pid;
events {
    worker_connections 256;
}
http {
    log_format upstreams '$request_uri $status $upstream_addr $upstream_status';
    access_log {prefix}/logs/access.log upstreams;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    upstream bot {
        server 127.0.0.1:PORT_A max_fails=1 fail_timeout=30s;
        server 127.0.0.1:PORT_B max_fails=1 fail_timeout=30s;
    }
    server {
        listen 127.0.0.1:{port};
        client_max_body_size 4m;
        # Keep request bodies in memory: no temp files (nginx workers may run as another user).
        client_body_buffer_size 4m;
        location = /slack/events {
            proxy_pass http://bot;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
            # A refused connection (a dead replica) goes to the other one; the request was
            # never sent, so this is safe for POST too.
            proxy_next_upstream error timeout;
        }
        location / {
            return 404;
        }
    }
}
"""


def skip_or_fail_without_nginx() -> None:
    if NGINX is not None:
        return
    reason = "nginx is not installed (Debian: apt-get install nginx-light)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


# -- replicas ---------------------------------------------------------------------------------


def start_replica(name: str, fake: FakeSlack, database_url: str, tmp: Path) -> ServeProcess:
    """One replica (not waited for): two turn workers, short inbox leases."""
    env = http_env(
        fake,
        database_url,
        NGINX_TRIAGE_WORKERS="2",
        # Short inbox leases: a dead replica's acked deliveries are taken over within seconds.
        NGINX_TRIAGE_INBOX_LEASE_S="3",
        NGINX_TRIAGE_INBOX_POLL_S="0.5",
    )
    return ServeProcess.start(env, tmp, f"replica-{name}")


# -- Slack, as seen through nginx ----------------------------------------------------------


@dataclass
class Front:
    """Sends signed Slack requests to nginx, like Slack does; duck-types ``BotUnderTest``."""

    nginx: Nginx
    sent: int = 0
    statuses: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.nginx.port

    def post_signed(self, body: str, content_type: str, *, extra: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **sign(body), **(extra or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
            resp = conn.getresponse()
            status, text = resp.status, resp.read().decode()
        finally:
            conn.close()
        with self._lock:
            self.sent += 1
            self.statuses.append(status)
        return status, text

    def event(self, event: dict[str, Any], event_id: str, *, retry_num: int | None = None) -> tuple[int, str]:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self.post_signed(event_body(event, event_id), "application/json", extra=extra)

    def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return self.post_signed(payload_body(payload), "application/x-www-form-urlencoded")

    def upstreams(self) -> list[str]:
        """The replica address nginx used for each /slack/events request, in order."""
        lines = (self.nginx.prefix / "logs" / "access.log").read_text().splitlines()
        return [line.split()[2] for line in lines if line.startswith("/slack/events")]


@dataclass
class Cluster:
    a: ServeProcess
    b: ServeProcess
    front: Front
    database_url: str

    @property
    def replicas(self) -> tuple[ServeProcess, ServeProcess]:
        return self.a, self.b


@pytest.fixture
def cluster(fake: FakeSlack, tmp_path: Path) -> Iterator[Cluster]:
    skip_or_fail_without_nginx()
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        url = make()
        Store(url).ensure_schema()  # once, so both replicas start on a ready schema
        a = start_replica("a", fake, url, tmp_path)
        b = start_replica("b", fake, url, tmp_path)
        try:
            a.wait_ready()
            b.wait_ready()
            conf = NGINX_CONF.replace("PORT_A", str(a.port)).replace("PORT_B", str(b.port))
            with running_nginx(tmp_path, conf) as ngx:
                yield Cluster(a, b, Front(ngx), url)
        finally:
            for replica in (a, b):
                replica.stop()
            for replica in (a, b):
                assert BOT_TOKEN not in replica.log_text(), "the bot token was logged"


# -- metrics helpers ------------------------------------------------------------------------------


def total(metrics: dict[str, float], name: str) -> float:
    """The sum of every sample of a series (all label values)."""
    pattern = re.compile(rf"^{re.escape(name)}(\{{.*\}})?$")
    return sum(v for k, v in metrics.items() if pattern.match(k))


def delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return total(after, name) - total(before, name)


def wait_metrics(cluster: Cluster, predicate: Any, what: str, timeout: float = WAIT_S) -> list[dict[str, float]]:
    """Scrape both replicas until ``predicate([metrics_a, metrics_b])`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        scraped = [r.metrics() for r in cluster.replicas if r.proc.poll() is None]
        if predicate(scraped):
            return scraped
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; last scrape: "
                + json.dumps([{k: v for k, v in m.items() if "_total" in k} for m in scraped])
            )
        time.sleep(0.2)


EVENTS = "nginx_triage_events_received_total"
REPLIES = "nginx_triage_replies_sent_total"
DUPLICATES = "nginx_triage_events_duplicate_total"


# -- tests ----------------------------------------------------------------------------------------


def test_a_conversation_alternating_between_replicas_completes(cluster: Cluster, fake: FakeSlack) -> None:
    before = [r.metrics() for r in cluster.replicas]
    root = "1800000300.000100"
    run_whole_conversation(cluster.front, fake, root)  # type: ignore[arg-type]  # the fix and all guided steps
    assert set(cluster.front.statuses) == {200}

    posted = len(fake.thread_messages(CHANNEL, root))
    after = wait_metrics(
        cluster,
        lambda m: len(m) == 2 and sum(delta(b, a, REPLIES) for b, a in zip(before, m, strict=True)) >= posted,
        "the replies counted",
    )
    events = [delta(b, a, EVENTS) for b, a in zip(before, after, strict=True)]
    sent = [delta(b, a, REPLIES) for b, a in zip(before, after, strict=True)]
    # Round robin: every other request went to each replica, and each one answered some of them.
    assert sum(events) == cluster.front.sent, events
    assert abs(events[0] - events[1]) <= 1, events
    assert all(n >= 4 for n in sent), sent
    assert sum(sent) == posted, (sent, posted)  # no reply posted twice, none uncounted
    ups = cluster.front.upstreams()
    assert len(set(ups)) == 2 and all(x != y for x, y in itertools.pairwise(ups)), ups
    # The feedback click at the end went to the shared database.
    store = Store(cluster.database_url)
    try:
        assert [f.value for f in store.feedback_for(f"{TEAM}:{CHANNEL}:{root}")] == ["helpful"]
    finally:
        store.close()
    for name in ("nginx_triage_ack_seconds_count", "nginx_triage_reply_seconds_count"):
        assert all(delta(b, a, name) > 0 for b, a in zip(before, after, strict=True)), name


def test_the_same_event_delivered_to_both_replicas_gets_one_reply(cluster: Cluster, fake: FakeSlack) -> None:
    before = [r.metrics() for r in cluster.replicas]
    # First, one after the other: Slack's first delivery, then its retry.
    root = "1800000301.000100"
    ev = mention(ALERT, root)
    assert cluster.front.event(ev, "EvDupSeq")[0] == 200
    assert cluster.front.event(ev, "EvDupSeq", retry_num=1)[0] == 200
    # Then both at the same moment, so the two replicas race for the claim.
    root2 = "1800000301.000200"
    ev2 = mention(ALERT, root2)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver(retry: int | None) -> None:
        barrier.wait(timeout=10)
        statuses.append(cluster.front.event(ev2, "EvDupRace", retry_num=retry)[0])

    threads = [threading.Thread(target=deliver, args=(r,)) for r in (None, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert statuses == [200, 200]

    replies(fake, root, 1)
    replies(fake, root2, 1)
    after = wait_metrics(
        cluster,
        lambda m: (
            len(m) == 2
            and all(
                sum(delta(b, a, name) for b, a in zip(before, m, strict=True)) >= 2 for name in (DUPLICATES, REPLIES)
            )
        ),
        "both duplicates dropped and both replies counted",
    )
    fake.wait_quiet(0.5)
    assert len(fake.thread_messages(CHANNEL, root)) == 1
    assert len(fake.thread_messages(CHANNEL, root2)) == 1
    # Each delivery pair reached both replicas, and exactly one of each was dropped as a duplicate.
    assert [delta(b, a, EVENTS) for b, a in zip(before, after, strict=True)] == [2, 2]
    assert sum(delta(b, a, DUPLICATES) for b, a in zip(before, after, strict=True)) == 2
    assert sum(delta(b, a, REPLIES) for b, a in zip(before, after, strict=True)) == 2


def test_killing_a_replica_mid_conversation_loses_nothing(cluster: Cluster, fake: FakeSlack) -> None:
    root = "1800000302.000100"
    front = cluster.front
    assert front.event(mention("our edge boxes alert:\n" + ALERT, root), "EvKill1")[0] == 200
    first = replies(fake, root, 1, "first reply")[0]
    assert "worker_connections are not enough" in content(first)
    assert front.event(thread_message("nginx -T:\n" + NGINX_T, "1800000302.000201", root), "EvKill2")[0] == 200
    assert "nginx.conf:5" in content(replies(fake, root, 2)[1])
    before_b = cluster.b.metrics()

    cluster.a.kill()  # SIGKILL, parent and turn workers

    # The limits go through nginx; whichever replica nginx tries first, the live one answers.
    assert front.event(thread_message("limits of a worker:\n" + LIMITS, "1800000302.000301", root), "EvKill3")[0] == 200
    third = replies(fake, root, 3, "the answer after the kill")[2]
    assert "what this fix needs" in content(third)
    # The diff uses all three pastes: the alert (worker_connections), nginx -T (the file and its
    # current value) and the limits (the new value fits the worker's open-files limit).
    diffs = fake.wait_for(
        lambda: [u for u in fake.thread_uploads(CHANNEL, root) if u.filename == "nginx-triage-fix.diff"],
        WAIT_S,
        "the diff upload",
    )
    assert b"worker_connections" in diffs[-1].content and b"1024" in diffs[-1].content
    # ...and the conversation goes on: the guided fix starts on the surviving replica.
    click(front, fake, root, "guide_start")  # type: ignore[arg-type]
    msgs = replies(fake, root, 4, "step 1")
    assert "Step 1 of 5" in msgs[-1].text
    assert set(front.statuses) == {200}

    store = Store(cluster.database_url)
    try:
        state = store.load(f"{TEAM}:{CHANNEL}:{root}")
    finally:
        store.close()
    assert isinstance(state, ConversationState) and len(state.pastes) == 3
    assert "worker_connections are not enough" in state.pastes[0]
    assert "http {" in state.pastes[1] or "events {" in state.pastes[1]
    assert "Max open files" in state.pastes[2]
    after_b = wait_metrics(
        cluster,
        lambda m: len(m) == 1 and delta(before_b, m[0], REPLIES) >= 2,
        "the surviving replica's replies counted",
    )[0]
    assert delta(before_b, after_b, EVENTS) >= 2  # the paste after the kill and the click
    assert delta(before_b, after_b, REPLIES) >= 2


def test_a_replica_killed_right_after_its_ack_is_answered_by_the_other(cluster: Cluster, fake: FakeSlack) -> None:
    """Not between turns: the event is acked by ``a`` and ``a`` dies at once, before its turn
    could post. Slack will not deliver it again; ``b`` finds it in the shared inbox."""
    root = "1800000303.000100"
    # Whoever posts first waits 2 s on a 429: ``a`` cannot answer before the kill below.
    fake.rate_limit_next("chat.postMessage", times=1, retry_after=2)
    before_b = cluster.b.metrics()
    body = event_body(mention(ALERT, root), "EvAckKill")
    conn = http.client.HTTPConnection("127.0.0.1", cluster.a.port, timeout=10)
    try:
        conn.request(
            "POST", "/slack/events", body=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
        )
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    cluster.a.kill()

    answer = fake.wait_for(lambda: fake.thread_messages(CHANNEL, root), 45, "the other replica's answer")[0]
    assert "worker_connections are not enough" in content(answer)
    after_b = wait_metrics(
        cluster, lambda m: len(m) == 1 and delta(before_b, m[0], REPLIES) >= 1, "the surviving replica's reply counted"
    )[0]
    fake.wait_quiet(1.0)
    assert len(fake.thread_messages(CHANNEL, root)) == 1  # answered once
    assert delta(before_b, after_b, "nginx_triage_inbox_recovered_total") >= 1
    assert delta(before_b, after_b, EVENTS) == 0  # b never received it from Slack
    inbox = InboxTable.connect(cluster.database_url)
    try:
        entry = inbox.entry("EvAckKill")
        assert entry is not None and entry.done_at is not None and inbox.pending_count() == 0
    finally:
        inbox.close()
