"""The Slack bot over real HTTP: signed Events API, slash-command and block_actions requests to
the running app on 127.0.0.1, a fake Slack Web API recording every call, a real store."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge.loader import KnowledgeBase
from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import BOT_ID, BOT_TOKEN, BOT_USER, TEAM, FakeSlack, ForeignHost, Message, find_buttons
from tests.fakes.serve_harness import ServeProcess
from tests.fakes.slack_harness import (
    CHANNEL,
    USER,
    BotUnderTest,
    block_action,
    files_entry,
    mention,
    thread_message,
)
from tests.integration.nginx_harness import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "worker-connections"
ERROR_LOG = (EXAMPLE / "error.log").read_text()
NGINX_T = (EXAMPLE / "nginx-T.txt").read_text()
LIMITS = (EXAMPLE / "worker-limits.txt").read_text()
ALERT = "\n".join(ERROR_LOG.splitlines()[:20])
NGINX_T_OK = (
    "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
    "nginx: configuration file /etc/nginx/nginx.conf test is successful"
)

WAIT_S = 20.0


def content(msg: Message) -> str:
    """Everything a user sees in a posted message: fallback text and blocks."""
    return msg.text + "\n" + json.dumps(msg.blocks)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def bot(fake: FakeSlack, kb: KnowledgeBase, sqlite_url: str) -> Iterator[BotUnderTest]:
    running = BotUnderTest(fake, kb, sqlite_url)
    yield running
    running.stop()


def replies(fake: FakeSlack, root: str, at_least: int, what: str = "replies") -> list[Message]:
    """Wait (bounded) for at least ``at_least`` bot messages in the thread."""
    return list(
        fake.wait_for(
            lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= at_least and m,
            WAIT_S,
            f"{at_least} {what} in thread {root}",
        )
    )


def click(bot: BotUnderTest, fake: FakeSlack, root: str, action_id: str, value: str | None = None) -> None:
    """Click the newest button ``action_id`` (with ``value``) in the thread, as Slack would send it."""
    found = [
        (m, b, e)
        for m, b, e in find_buttons(fake.thread_messages(CHANNEL, root), action_id)
        if value is None or e.get("value") == value
    ]
    assert found, f"no {action_id} button (value {value}) in thread {root}"
    msg, block, button = found[-1]
    status, _ = bot.interact(block_action(msg.ts, root, msg.blocks, block.get("block_id", ""), button, msg.text))
    assert status == 200


# -- the whole conversation -------------------------------------------------------------------


def run_whole_conversation(bot: BotUnderTest, fake: FakeSlack, root: str) -> None:
    # 1. A mention with a pasted alert: the bot answers in the thread and asks for evidence, with commands.
    status, _ = bot.event(
        mention("we get this alert on the edge boxes, help:\n```\n" + ALERT + "\n```", root), f"Ev{root}1"
    )
    assert status == 200
    first = replies(fake, root, 1, "first reply")[0]
    assert "worker_connections are not enough" in content(first)
    assert "nginx -T" in first.text  # the one piece of evidence needed, with its command
    assert len(first.text) <= 1500 and first.thread_ts == root

    # 2. nginx -T pasted as a thread reply (no mention): the bot is in this thread, so it answers.
    bot.event(thread_message("here is nginx -T:\n" + NGINX_T, f"{root[:-3]}201", root), f"Ev{root}2")
    second = replies(fake, root, 2)[1]
    assert "nginx.conf:5" in content(second)  # the note of what changed (the first answer is updated in place
    # when this replica knows where it is; tests/integration/test_slack_incident_threads.py checks the edit)

    # 3. The worker's limits as an uploaded file: files.info, download with the bot token, full answer.
    file_id = fake.add_file("worker-limits.txt", LIMITS.encode())
    bot.event(
        thread_message("", f"{root[:-3]}301", root, files=[files_entry(file_id, "worker-limits.txt")]), f"Ev{root}3"
    )
    third = replies(fake, root, 3)[2]
    assert "what this fix needs" in content(third)
    downloads = fake.calls_to("file.download")
    assert downloads and all(c.headers.get("Authorization") == f"Bearer {BOT_TOKEN}" for c in downloads)
    diffs = fake.wait_for(
        lambda: [u for u in fake.thread_uploads(CHANNEL, root) if u.filename == "nginx-triage-fix.diff"],
        WAIT_S,
        "the diff upload",
    )
    assert b"worker_connections" in diffs[-1].content and b"1024" in diffs[-1].content

    # 4. Guided steps, clicked through; the nginx -t output is pasted and verified.
    def step_reply(n: int, count: int) -> Message:
        msgs = replies(fake, root, count, f"step {n}")
        assert f"Step {n} of 5" in msgs[-1].text, msgs[-1].text
        return msgs[-1]

    click(bot, fake, root, "guide_start")
    step_reply(1, 4)
    click(bot, fake, root, "guide_done", "1")
    step_reply(2, 5)
    click(bot, fake, root, "guide_done", "2")
    step_reply(3, 6)
    click(bot, fake, root, "guide_paste", "3")
    replies(fake, root, 7, "paste prompt")
    bot.event(thread_message(NGINX_T_OK, f"{root[:-3]}401", root), f"Ev{root}4")
    msgs = replies(fake, root, 9, "the verdict and step 4")
    assert "Step 3 passed" in msgs[7].text
    assert "Step 4 of 5" in msgs[8].text
    click(bot, fake, root, "guide_done", "4")
    step_reply(5, 10)
    click(bot, fake, root, "guide_done", "5")
    done = replies(fake, root, 11, "guide done")[-1]
    assert "All 5 steps done" in done.text
    # Every click replaced its buttons with who clicked what (no double clicks).
    assert len(fake.calls_to("chat.update")) >= 6
    # Feedback is recorded.
    click(bot, fake, root, "feedback_helpful")
    replies(fake, root, 12, "feedback thanks")


def test_whole_conversation_sqlite(bot: BotUnderTest, fake: FakeSlack) -> None:
    run_whole_conversation(bot, fake, "1800000000.000100")
    bot.wait_idle()
    feedback = bot.store.feedback_for(f"{TEAM}:{CHANNEL}:1800000000.000100")
    assert [f.value for f in feedback] == ["helpful"]
    # The bot never answered itself and posted nothing outside the thread.
    assert all(m.thread_ts == "1800000000.000100" for m in fake.messages)


def test_thumbs_up_on_a_diagnosis_is_recorded_and_replaced_by_a_note(bot: BotUnderTest, fake: FakeSlack) -> None:
    """Issue 10, item 6: the diagnosis carries Slack's own feedback element; a click on 👍
    arrives as Slack sends it (a signed block_actions payload, action type ``feedback_buttons``
    with the clicked half's value), is recorded, replaces that block by who clicked what, and is
    thanked in the thread. The step button next to "get a human" stays clickable."""
    root = "1800000005.000100"
    assert bot.event(mention("we get this alert, help:\n```\n" + ALERT + "\n```", root), f"Ev{root}1")[0] == 200
    first = replies(fake, root, 1, "the diagnosis")[0]
    (element,) = [e for b in first.blocks if b["type"] == "context_actions" for e in b["elements"]]
    assert element["type"] == "feedback_buttons" and element["action_id"] == "feedback"
    assert element["positive_button"]["value"] == "feedback_helpful"
    rows = [e["action_id"] for b in first.blocks if b["type"] == "actions" for e in b["elements"]]
    assert rows == ["guide_start", "feedback_human"]

    (msg, block, half) = find_buttons([first], "feedback_helpful")[0]
    payload = block_action(msg.ts, root, msg.blocks, block["block_id"], half, msg.text)
    action = payload["actions"][0]
    assert (action["type"], action["action_id"], action["value"]) == (
        "feedback_buttons",
        "feedback",
        "feedback_helpful",
    )
    status, _ = bot.interact(payload)
    assert status == 200

    thanks = replies(fake, root, 2, "the thanks")[1]
    assert "Thanks, noted" in thanks.text
    bot.wait_idle()
    assert [f.value for f in bot.store.feedback_for(f"{TEAM}:{CHANNEL}:{root}")] == ["helpful"]
    updates = [c for c in fake.calls_to("chat.update") if c.params.get("ts") == first.ts]
    assert not any(b["type"] == "context_actions" for b in first.blocks)  # the edit as Slack shows it
    notes = [e["text"] for b in first.blocks if b["type"] == "context" for e in b["elements"]]
    assert f"<@{USER}> found this helpful" in notes
    assert [e["action_id"] for b in first.blocks if b["type"] == "actions" for e in b["elements"]] == rows
    assert updates and updates[-1].params.get("text") == first.text


@pytest.mark.postgres
def test_whole_conversation_postgres(fake: FakeSlack, kb: KnowledgeBase) -> None:
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        running = BotUnderTest(fake, kb, make())
        try:
            run_whole_conversation(running, fake, "1800000001.000100")
        finally:
            running.stop()


@pytest.mark.postgres
def test_two_bots_sharing_postgres_continue_each_others_threads(fake: FakeSlack, kb: KnowledgeBase) -> None:
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        url = make()
        a, b = BotUnderTest(fake, kb, url), BotUnderTest(fake, kb, url)
        try:
            root = "1800000002.000100"
            a.event(mention(ALERT, root), "EvPG1")
            replies(fake, root, 1)
            a.wait_idle()  # a's turn is over: it stored where its first answer is
            b.event(thread_message(NGINX_T, "1800000002.000201", root), "EvPG2")
            second = replies(fake, root, 2)[1]
            assert "Updated the answer above" in second.text  # b saw a's paste ...
            assert fake.thread_messages(CHANNEL, root)[0].edits >= 1  # ... and updated a's first answer
            # The same retried event delivered to both replicas is answered once.
            a.event(thread_message(LIMITS, "1800000002.000301", root), "EvPG3")
            b.event(thread_message(LIMITS, "1800000002.000301", root), "EvPG3", retry_num=1)
            replies(fake, root, 3)
            a.wait_idle()
            b.wait_idle()
            assert len(fake.thread_messages(CHANNEL, root)) == 3
        finally:
            a.stop()
            b.stop()


# -- security ---------------------------------------------------------------------------------


def test_forged_and_stale_signatures_get_401_and_no_slack_call(bot: BotUnderTest, fake: FakeSlack) -> None:
    ev = mention(ALERT, "1800000010.000100")
    assert bot.event(ev, "EvForged", secret="not-the-signing-secret")[0] == 401
    assert bot.event(ev, "EvStale", timestamp=int(time.time()) - 6 * 60)[0] == 401
    status, _, _ = bot.request(
        "POST", "/slack/events", '{"type":"event_callback"}', {"Content-Type": "application/json"}
    )
    assert status == 401
    time.sleep(0.5)
    bot.wait_idle()
    assert fake.calls == []


def test_secrets_pasted_are_not_echoed(bot: BotUnderTest, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    secrets = ["sk-live-4f9a8b7c6d5e4f3a2b1c", "hunter2-Sup3rSecret", "AKIAVERYSECRETKEY12345"]
    dump = NGINX_T.replace(
        "events {",
        f"env DB_PASSWORD={secrets[1]};\nenv AWS_SECRET_ACCESS_KEY={secrets[2]};\nevents {{",
        1,
    ).replace("location / {", f'location / {{\n            proxy_set_header Authorization "Bearer {secrets[0]}";', 1)
    assert all(s in dump for s in secrets)
    root = "1800000011.000100"
    caplog.set_level(logging.INFO)  # the level serve() runs at
    bot.event(mention(ALERT + "\n" + dump, root), "EvSecret1")
    file_id = fake.add_file("nginx-T.txt", dump.encode())
    bot.event(thread_message("", "1800000011.000201", root, files=[files_entry(file_id, "nginx-T.txt")]), "EvSecret2")
    replies(fake, root, 2)
    bot.wait_idle()
    sent = fake.everything_sent()
    stored = json.dumps([bot.store.load(f"{TEAM}:{CHANNEL}:{root}").__dict__])  # type: ignore[union-attr]
    for secret in secrets:
        assert secret not in sent, f"{secret} was sent to Slack"
        assert secret not in stored, f"{secret} was stored"
        assert secret not in caplog.text, f"{secret} was logged"
    assert BOT_TOKEN not in caplog.text


# -- delivery: retries, rate limits, errors, restarts -------------------------------------------


def test_retried_event_gets_one_reply_even_across_a_restart(
    fake: FakeSlack, kb: KnowledgeBase, sqlite_url: str
) -> None:
    root = "1800000020.000100"
    first = BotUnderTest(fake, kb, sqlite_url)
    try:
        ev = mention(ALERT, root)
        assert first.event(ev, "EvRetry")[0] == 200
        assert first.event(ev, "EvRetry", retry_num=1)[0] == 200
        replies(fake, root, 1)
        first.wait_idle()
    finally:
        first.stop()
    second = BotUnderTest(fake, kb, sqlite_url)
    try:
        assert second.event(ev, "EvRetry", retry_num=2)[0] == 200
        second.wait_idle()
        fake.wait_quiet(0.3)
    finally:
        second.stop()
    assert len(fake.thread_messages(CHANNEL, root)) == 1


def test_rate_limited_post_is_waited_out(bot: BotUnderTest, fake: FakeSlack) -> None:
    root = "1800000021.000100"
    fake.rate_limit_next("chat.postMessage", times=1, retry_after=1)
    bot.event(mention(ALERT, root), "EvRate")
    replies(fake, root, 1)
    posts = fake.calls_to("chat.postMessage")
    assert len(posts) >= 2
    assert posts[1].at - posts[0].at >= 1.0  # Retry-After: 1 was honoured


def test_slack_api_error_is_logged_with_context_and_the_bot_keeps_going(
    bot: BotUnderTest, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.fail_next("chat.postMessage", "not_in_channel", times=5)
    bot.event(mention(ALERT, "1800000022.000100"), "EvErr1")
    fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) >= 1, WAIT_S, "the failing post")
    bot.wait_idle()
    failures = [
        r
        for r in caplog.records
        if getattr(r, "method", None) == "chat.postMessage" and getattr(r, "error", None) == "not_in_channel"
    ]
    assert failures
    # The process is still up and answers the next event.
    fake._failures.clear()
    root = "1800000022.000200"
    bot.event(mention(ALERT, root), "EvErr2")
    replies(fake, root, 1)
    _, _, metrics = bot.request("GET", "/metrics")
    assert 'nginx_triage_slack_api_errors_total{error="not_in_channel",method="chat.postMessage"}' in metrics


def test_restart_mid_conversation_continues_the_thread(fake: FakeSlack, kb: KnowledgeBase, sqlite_url: str) -> None:
    root = "1800000023.000100"
    before = BotUnderTest(fake, kb, sqlite_url)
    try:
        before.event(mention(ALERT, root), "EvRestart1")
        replies(fake, root, 1)
        before.wait_idle()
    finally:
        before.stop()
    after = BotUnderTest(fake, kb, sqlite_url)
    try:
        after.event(thread_message(NGINX_T, "1800000023.000201", root), "EvRestart2")
        second = replies(fake, root, 2)[1]
        assert "Updated the answer above" in second.text
        first = fake.thread_messages(CHANNEL, root)[0]  # the answer from before the restart, updated in place
        assert first.edits >= 1 and "worker_connections are not enough" in content(first)
        assert "nginx.conf:5" in content(first)
    finally:
        after.stop()


# -- files and sizes ------------------------------------------------------------------------------


def test_file_download_refuses_a_foreign_host(bot: BotUnderTest, fake: FakeSlack) -> None:
    foreign = ForeignHost().start()
    try:
        file_id = fake.add_file("error.log", b"x", download_url=foreign.url("/files/error.log"))
        root = "1800000030.000100"
        bot.event(mention("see the attached log", root, files=[files_entry(file_id, "error.log")]), "EvForeign")
        reply = replies(fake, root, 1)[0]
        assert "not hosted on Slack" in reply.text
        bot.wait_idle()
        assert foreign.requests == []  # nothing, and so no token, went to the foreign host
        assert fake.calls_to("file.download") == []
    finally:
        foreign.stop()


def test_binary_and_sign_in_page_files_are_refused_clearly(bot: BotUnderTest, fake: FakeSlack) -> None:
    png = fake.add_file("graph.png", b"\x89PNG\r\n\x1a\n\x00\x00", mimetype="image/png")
    html = fake.add_file("error.log", b"<!DOCTYPE html><html>Sign in</html>", serve_as="text/html")
    root = "1800000031.000100"
    bot.event(
        mention("logs attached", root, files=[files_entry(png, "graph.png"), files_entry(html, "error.log")]),
        "EvBinary",
    )
    msgs = replies(fake, root, 2)
    texts = "\n".join(m.text for m in msgs)
    assert "not text" in texts
    assert "sign-in page" in texts


def test_oversized_paste_and_file_get_a_clear_reply(fake: FakeSlack, kb: KnowledgeBase, sqlite_url: str) -> None:
    small = BotUnderTest(fake, kb, sqlite_url, max_file_bytes=16 * 1024)
    try:
        root = "1800000032.000100"
        big_paste = "\n".join([ALERT] * 40)
        assert len(big_paste.encode()) > 16 * 1024
        small.event(thread_message(big_paste, root, None, channel_type="im", channel="D0DIRECT"), "EvBig1")
        dm = fake.wait_for(lambda: fake.thread_messages("D0DIRECT", root), WAIT_S, "the DM reply")
        assert "16 KB" in dm[0].text and "did not store it" in dm[0].text, dm[0].text
        big_file = fake.add_file("error.log", big_paste.encode())
        root2 = "1800000032.000200"
        small.event(mention("log attached", root2, files=[files_entry(big_file, "error.log")]), "EvBig2")
        reply = replies(fake, root2, 1)[0]
        assert "over my 16 KB limit" in reply.text
        assert fake.calls_to("file.download") == []  # refused from files.info's size, before downloading
    finally:
        small.stop()


# -- other surfaces -------------------------------------------------------------------------------


def test_slash_command_acks_fast_then_answers(bot: BotUnderTest, fake: FakeSlack) -> None:
    started = time.monotonic()
    status, body = bot.command("diagnose " + ALERT, fake.response_url("diag"))
    assert status == 200 and time.monotonic() - started < 3
    assert json.loads(body) == {"text": "Working on it…", "response_type": "ephemeral"}
    parent = fake.wait_for(lambda: [m for m in fake.messages if m.thread_ts is None], WAIT_S, "the parent message")
    reply = replies(fake, parent[0].ts, 1)[0]
    assert "worker_connections are not enough" in content(reply)

    status, body = bot.command(
        "ask what is the difference between worker_connections and open files", fake.response_url("ask")
    )
    assert status == 200
    answered = fake.wait_for(
        lambda: [c for c in fake.responses if "/ask-" in c.headers.get("Host", "") or True], WAIT_S, "the ask answer"
    )
    assert any("worker_connections" in json.dumps(c.params) for c in answered)

    bot.command("help", fake.response_url("help"))
    bot.command("frobnicate", fake.response_url("usage"))
    fake.wait_for(lambda: len(fake.responses) >= 3, WAIT_S, "help and usage answers")
    bot.wait_idle()
    sent = json.dumps([c.params for c in fake.responses])
    assert "Usage: `/nginx-triage diagnose" in sent


def test_message_shortcut_diagnoses_the_message_in_its_thread(bot: BotUnderTest, fake: FakeSlack) -> None:
    root = "1800000040.000100"
    payload: dict[str, Any] = {
        "type": "message_action",
        "callback_id": "diagnose_message",
        "trigger_id": "1.2.3",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": USER, "name": "alice", "team_id": TEAM},
        "channel": {"id": CHANNEL, "name": "ops"},
        "response_url": fake.response_url("shortcut"),
        "message_ts": root,
        "message": {"type": "message", "user": "U0OTHER", "ts": root, "text": ALERT},
        "token": "legacy",
        "action_ts": "1800000040.5",
    }
    status, _ = bot.interact(payload)
    assert status == 200
    reply = replies(fake, root, 1)[0]
    assert "worker_connections are not enough" in content(reply)


def test_app_home_opened_publishes_the_home_view(bot: BotUnderTest, fake: FakeSlack) -> None:
    bot.event(
        {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home", "event_ts": "1800000050.000100"},
        "EvHome",
    )
    call = fake.wait_for(lambda: fake.calls_to("views.publish"), WAIT_S, "views.publish")[0]
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert call.params["user_id"] == USER and view["type"] == "home" and 0 < len(view["blocks"]) <= 100


def test_bot_messages_and_unrelated_channel_messages_are_ignored(bot: BotUnderTest, fake: FakeSlack) -> None:
    bot.event(
        thread_message(ALERT, "1800000060.000100", None, channel_type="im", channel="D0DIRECT", bot_id=BOT_ID), "EvBot1"
    )
    bot.event(
        {
            "type": "message",
            "user": BOT_USER,
            "text": ALERT,
            "ts": "1800000060.000200",
            "channel": CHANNEL,
            "channel_type": "channel",
            "thread_ts": "1800000060.000001",
        },
        "EvBot2",
    )
    bot.event(thread_message(ALERT, "1800000060.000300", "1800000060.000002"), "EvBot3")  # a thread we are not in
    bot.event(thread_message(ALERT, "1800000060.000400", None), "EvBot4")  # top-level chatter
    time.sleep(0.3)
    bot.wait_idle()
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


def test_health_readiness_and_metrics(bot: BotUnderTest, fake: FakeSlack) -> None:
    assert bot.request("GET", "/healthz")[0] == 200
    status, _, body = bot.request("GET", "/readyz")
    assert status == 200 and json.loads(body)["ready"] is True
    root = "1800000070.000100"
    bot.event(mention(ALERT, root), "EvMetrics")
    replies(fake, root, 1)
    bot.wait_idle()
    _, headers, metrics = bot.request("GET", "/metrics")
    assert headers["content-type"].startswith("text/plain")
    for series in (
        'nginx_triage_events_received_total{type="app_mention"}',
        "nginx_triage_replies_sent_total",
        "nginx_triage_ack_seconds_bucket",
        "nginx_triage_reply_seconds_bucket",
        'nginx_triage_matches_total{kb_id="worker-connections-not-enough"}',
    ):
        assert series in metrics, series
    assert all(line.startswith(("#", "nginx_triage_")) for line in metrics.splitlines() if line)


def test_serve_starts_with_database_and_slack_down_and_stops_on_sigterm(tmp_path: Path) -> None:
    serve = ServeProcess.start(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s3cret-signing",
            "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
            "DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1",
        },
        tmp_path,
    )
    try:
        serve.wait_for("/healthz", 200, 30)
        status, report = serve.get_json("/readyz", timeout=10)
        assert status == 503 and any(r.startswith("store:") for r in report["reasons"]), report
        assert serve.terminate() == 0
    finally:
        serve.stop()
    assert any(line["msg"] == "stopped" for line in serve.log_lines())
    err = serve.log_text()
    assert BOT_TOKEN not in err and "s3cret-signing" not in err
