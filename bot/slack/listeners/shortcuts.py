"""Message shortcut "Diagnose with nginx-triage"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.slack.bot import TriageBot
from bot.slack.callbacks.shortcut import CALLBACK_ID, on_diagnose_message


def register(app: App, bot: TriageBot) -> None:
    """``diagnose_message`` (a message shortcut, payload type ``message_action``)."""

    @app.message_shortcut(CALLBACK_ID)
    def diagnose_message(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        on_diagnose_message(bot, ack, shortcut, respond, context)
