"""Message events: DMs, thread replies, file shares and snippets."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.request import BoltRequest

from bot.slack.bot import TriageBot
from bot.slack.callbacks.message import on_message


def register(app: App, bot: TriageBot) -> None:
    """Every ``message`` event (all subtypes, so none is answered 404); the callback filters."""

    @app.event("message")
    def message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, request: BoltRequest) -> None:
        on_message(bot, body, event, context, request)
