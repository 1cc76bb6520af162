"""Events API: mentions, the App Home tab, and Slack's own rate-limit notice."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.events.app_home_opened import app_home_opened_callback
from bot.slack.listeners.events.app_mention import app_mention_callback
from bot.slack.listeners.events.app_rate_limited import app_rate_limited_callback


def register(app: App) -> None:
    """``app_mention``, ``app_home_opened`` and ``app_rate_limited``."""
    app.event("app_mention")(app_mention_callback)
    app.event("app_home_opened")(app_home_opened_callback)
    app.event("app_rate_limited")(app_rate_limited_callback)
