"""Message events: DMs, thread replies, file shares and snippets."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.messages.message import message_callback


def register(app: App) -> None:
    """Every ``message`` event (all subtypes, so none is answered 404); the callback filters."""
    app.event("message")(message_callback)
