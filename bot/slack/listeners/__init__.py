"""Thin wiring: each module maps one Slack surface's triggers to callbacks in ``bot.slack.callbacks``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.bot import TriageBot
from bot.slack.listeners import actions, commands, events, home, messages, shortcuts


def register_listeners(app: App, bot: TriageBot) -> None:
    """Register every listener the app manifest subscribes to (Bolt answers 404 to unhandled ones)."""
    events.register(app, bot)
    messages.register(app, bot)
    commands.register(app, bot)
    actions.register(app, bot)
    shortcuts.register(app, bot)
    home.register(app, bot)
