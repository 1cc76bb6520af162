"""Events API: mentions, and Slack's own notices."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.request import BoltRequest

from bot.slack.bot import TriageBot
from bot.slack.callbacks.mention import on_app_mention

log = logging.getLogger("nginx_triage.slack.events")


def register(app: App, bot: TriageBot) -> None:
    """app_mention -> a turn in the mention's thread; app_rate_limited -> a log line."""

    @app.event("app_mention")
    def app_mention(body: dict[str, Any], event: dict[str, Any], context: BoltContext, request: BoltRequest) -> None:
        on_app_mention(bot, body, event, context, request)

    @app.event("app_rate_limited")
    def app_rate_limited(body: dict[str, Any]) -> None:
        log.error(
            "Slack is dropping events: over 30,000 per hour for this app",
            extra={"minute_rate_limited": body.get("minute_rate_limited")},
        )
