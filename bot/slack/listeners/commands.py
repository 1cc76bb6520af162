"""Slash command ``/nginx-triage``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.slack.bot import TriageBot
from bot.slack.callbacks.command import on_command

COMMAND = "/nginx-triage"


def register(app: App, bot: TriageBot) -> None:
    """``/nginx-triage diagnose|ask|help``."""

    @app.command(COMMAND)
    def nginx_triage(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        on_command(bot, ack, command, respond, context)
