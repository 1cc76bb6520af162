"""Message shortcut "Diagnose with nginx-triage"."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.shortcuts.diagnose_message import CALLBACK_ID, diagnose_message_callback


def register(app: App) -> None:
    """``diagnose_message`` (a message shortcut, payload type ``message_action``)."""
    app.message_shortcut(CALLBACK_ID)(diagnose_message_callback)
