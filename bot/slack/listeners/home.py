"""App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.bot import TriageBot
from bot.slack.callbacks.home import on_home_opened


def register(app: App, bot: TriageBot) -> None:
    """``app_home_opened`` -> views.publish of the Home view."""

    @app.event("app_home_opened")
    def app_home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_home_opened(bot, body, event)
