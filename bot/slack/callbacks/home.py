"""``app_home_opened``: publish the Home tab listing what the bot knows."""

from __future__ import annotations

import logging
from typing import Any

from bot.render.home import home_view
from bot.slack.bot import TriageBot
from bot.slack.logs import logging_context
from bot.slack.webclient import call_slack
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.home")


def on_home_opened(bot: TriageBot, body: dict[str, Any], event: dict[str, Any]) -> None:
    """Queue a views.publish for the user who opened the Home tab."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    user = str(event["user"])
    event_id = body.get("event_id")

    def publish() -> None:
        with logging_context(event_id=event_id, user=user):
            try:
                if not bot.runner.claim(event_id):
                    return
            except StoreError as exc:
                log.warning("dedupe unavailable, publishing anyway (views.publish is idempotent): %s", exc)
            view = home_view(bot.kb)
            call_slack("views.publish", bot.client.views_publish, user_id=user, view=view)

    bot.runner.submit(publish)
