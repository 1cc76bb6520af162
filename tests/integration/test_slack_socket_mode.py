"""Socket Mode: ``serve`` with SLACK_APP_TOKEN set opens the URL from the fake's
apps.connections.open, acks envelopes over the socket and posts replies to the fake Web API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_slack import APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack, event_body
from tests.fakes.fake_socket_mode import FakeSocketMode
from tests.fakes.serve_harness import ServeProcess
from tests.fakes.slack_harness import CHANNEL, USER, mention

ROOT = Path(__file__).resolve().parents[2]
ALERT = "\n".join((ROOT / "examples" / "worker-connections" / "error.log").read_text().splitlines()[:20])


@pytest.fixture
def socket_server(fake: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    fake.socket_url = server.url
    yield server
    server.stop()


@pytest.fixture
def served(fake: FakeSlack, socket_server: FakeSocketMode, tmp_path: Path) -> Iterator[ServeProcess]:
    """``serve`` in its own process, Socket Mode, SQLite in tmp; stopped with SIGTERM (exit 0)."""
    serve = ServeProcess.start(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": fake.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        },
        tmp_path,
    )
    try:
        yield serve
        assert serve.terminate() == 0
    finally:
        serve.stop()
        err = serve.log_text()
        assert BOT_TOKEN not in err and APP_TOKEN not in err


def test_socket_mode_acks_over_the_socket_and_replies_via_the_web_api(
    fake: FakeSlack, socket_server: FakeSocketMode, served: ServeProcess
) -> None:
    socket_server.wait_connected(timeout=30)
    opened = fake.calls_to("apps.connections.open")
    assert opened and opened[0].headers.get("Authorization") == f"Bearer {APP_TOKEN}"

    root = "1800000100.000100"
    body = json.loads(event_body(mention(ALERT, root), "EvSock1"))
    socket_server.push(
        {
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": body,
        }
    )
    assert socket_server.wait_ack("env-1") == {"envelope_id": "env-1"}
    reply = fake.wait_for(lambda: fake.thread_messages(CHANNEL, root), 20, "the reply in the thread")[0]
    assert "worker_connections are not enough" in reply.text + json.dumps(reply.blocks)
    assert reply.user == BOT_USER

    # Slack redelivers the same event (another envelope, retry_attempt 1): acked, not answered twice.
    socket_server.push(
        {
            "envelope_id": "env-2",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 1,
            "retry_reason": "timeout",
            "payload": body,
        }
    )
    socket_server.wait_ack("env-2")

    # A slash command over the socket: the ack carries the ephemeral "working…".
    socket_server.push(
        {
            "envelope_id": "env-3",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": "T0001",
                "channel_id": CHANNEL,
                "user_id": USER,
                "command": "/nginx-triage",
                "text": "help",
                "trigger_id": "1.2.3",
                "response_url": fake.response_url("sock"),
                "api_app_id": "A0001",
            },
        }
    )
    ack = socket_server.wait_ack("env-3")
    assert ack["payload"] == {"text": "Working on it…", "response_type": "ephemeral"}
    fake.wait_for(lambda: fake.responses, 20, "the help answer on response_url")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, report = served.get_json("/readyz")
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, report
    assert report["checks"]["socket_mode"] == "ok"  # type: ignore[index]
    fake.wait_quiet(0.5)
    assert len(fake.thread_messages(CHANNEL, root)) == 1
