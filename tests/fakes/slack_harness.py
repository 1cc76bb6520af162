"""The bot's HTTP server on 127.0.0.1 against the fake Slack, plus signed-request helpers."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import replace
from typing import Any

from bot.knowledge.loader import KnowledgeBase
from bot.slack.app import build_app
from bot.slack.http_server import Readiness, SlackHTTPServer
from bot.slack.settings import SlackSettings
from bot.slack.triage_bot import TriageBot, create_bot
from bot.store import Store
from tests.fakes.fake_slack import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    event_body,
    form_body,
    payload_body,
    sign,
)

CHANNEL = "C0TRIAGE"
USER = "U0HUMAN1"


def slack_escape(text: str) -> str:
    """What Slack does to user text in events: only &, < and > are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def settings_for(fake: FakeSlack, database_url: str, **overrides: Any) -> SlackSettings:
    """Settings pointing at the fake Slack and a test database."""
    base = SlackSettings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=fake.base_url,
        api_url_set=True,
        database_url=database_url,
        http_timeout=5,
    )
    return replace(base, **overrides)


class BotUnderTest:
    """create_bot + build_app + SlackHTTPServer on a free 127.0.0.1 port."""

    def __init__(self, fake: FakeSlack, kb: KnowledgeBase, database_url: str, **overrides: Any) -> None:
        self.fake = fake
        self.settings = settings_for(fake, database_url, **overrides)
        self.store = Store(database_url)
        self.bot: TriageBot = create_bot(self.settings, store=self.store, kb=kb)
        self.app = build_app(self.bot)
        if self.bot.inbox is not None:
            self.bot.inbox.start()  # as serve does: renews leases, runs deferred and orphaned deliveries
        self.server = SlackHTTPServer(
            ("127.0.0.1", 0),
            self.app,
            Readiness(store=self.store, kb_loaded=True),
            signing_secret=self.settings.signing_secret,
        )
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()
        self.bot.shutdown(timeout=15)
        self.store.close()

    def wait_idle(self, timeout: float = 15.0) -> None:
        assert self.bot.runner.wait_idle(timeout), f"turns still running after {timeout} s"

    # -- requests ------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None, timeout: float = 10.0
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body.encode() if body else None, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
        finally:
            conn.close()

    def post_signed(
        self,
        body: str,
        content_type: str,
        *,
        extra: dict[str, str] | None = None,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **sign(body, secret, timestamp), **(extra or {})}
        status, _, text = self.request("POST", "/slack/events", body, headers)
        return status, text

    def event(
        self, event: dict[str, Any], event_id: str, *, retry_num: int | None = None, **kw: Any
    ) -> tuple[int, str]:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self.post_signed(event_body(event, event_id), "application/json", extra=extra, **kw)

    def command(
        self, text: str, response_url: str, trigger_id: str = "13345224609.738474920.8088930838d"
    ) -> tuple[int, str]:
        body = form_body(
            {
                "token": "legacy",
                "team_id": TEAM,
                "team_domain": "test",
                "channel_id": CHANNEL,
                "channel_name": "ops",
                "user_id": USER,
                "user_name": "alice",
                "command": "/nginx-triage",
                "text": text,
                "api_app_id": "A0001",
                "response_url": response_url,
                "trigger_id": trigger_id,
            }
        )
        return self.post_signed(body, "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return self.post_signed(payload_body(payload), "application/x-www-form-urlencoded")


def mention(
    text: str, ts: str, *, thread_ts: str | None = None, files: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An app_mention event with Slack's escaping and the bot mention in front."""
    ev: dict[str, Any] = {
        "type": "app_mention",
        "user": USER,
        "text": f"<@{BOT_USER}> {slack_escape(text)}",
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
    }
    if thread_ts:
        ev["thread_ts"] = thread_ts
    if files:
        ev["files"] = files
    return ev


def thread_message(
    text: str,
    ts: str,
    thread_ts: str | None,
    *,
    files: list[dict[str, Any]] | None = None,
    channel_type: str = "channel",
    channel: str = CHANNEL,
    **extra: Any,
) -> dict[str, Any]:
    """A message event (a thread reply, a DM, or a file share when ``files`` is given)."""
    ev: dict[str, Any] = {
        "type": "message",
        "user": USER,
        "text": slack_escape(text),
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        ev["thread_ts"] = thread_ts
    if files:
        ev["subtype"] = "file_share"
        ev["files"] = files
    return ev


def block_action(
    message_ts: str, thread_ts: str, blocks: list[dict[str, Any]], block_id: str, button: dict[str, Any], text: str = ""
) -> dict[str, Any]:
    """A block_actions payload for a click on ``button`` in a bot message.

    ``button`` is a plain button or, from ``fake_slack.find_buttons``, a half of a feedback
    element (``type`` ``feedback_buttons``): Slack sends that click with the element's type and
    action id and the clicked half's value and text.
    """
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": USER, "username": "alice", "team_id": TEAM},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
            "thread_ts": thread_ts,
        },
        "trigger_id": "111.222.abc",
        "channel": {"id": CHANNEL, "name": "ops"},
        "message": {
            "type": "message",
            "user": BOT_USER,
            "bot_id": "BBOT0001",
            "ts": message_ts,
            "thread_ts": thread_ts,
            "text": text,
            "blocks": blocks,
        },
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "type": button.get("type", "button"),
                "action_id": button["action_id"],
                "block_id": block_id,
                "value": button.get("value", ""),
                "action_ts": f"{time.time():.6f}",
                "text": button.get("text", {}),
            }
        ],
    }


def files_entry(file_id: str, name: str) -> dict[str, Any]:
    """The ``files[]`` entry a file_share message carries."""
    return {"id": file_id, "name": name, "title": name, "mimetype": "text/plain"}


def dumps(data: Any) -> str:
    return json.dumps(data)
