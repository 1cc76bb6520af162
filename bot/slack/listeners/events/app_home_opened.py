"""``app_home_opened``: publish the Home tab listing what the bot knows (after the ack)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext

from bot.slack.delivery.jobs import HomeJob
from bot.slack.triage_bot import triage_of


def app_home_opened_callback(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
    """Queue a views.publish for the user who opened the Home tab (not the Messages tab)."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    triage_of(context).submit(HomeJob(str(event["user"]), body.get("event_id")))
