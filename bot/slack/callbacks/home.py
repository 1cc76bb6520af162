"""``app_home_opened``: publish the Home tab listing what the bot knows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.render.home import home_view
from bot.slack.bot import TriageBot
from bot.slack.jobs import JobContext
from bot.slack.logs import logging_context
from bot.slack.webclient import call_slack
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.home")


@dataclass(frozen=True)
class HomeJob:
    """Publish the Home view for ``user`` (once per event id)."""

    user: str
    event_id: str | None

    @property
    def key(self) -> None:
        return None

    @property
    def busy_target(self) -> None:
        return None  # the Home tab simply stays as it was; Slack sends the event again next time

    def describe(self) -> dict[str, Any]:
        return {"kind": "app_home_opened", "event_id": self.event_id, "user": self.user}

    def run(self, ctx: JobContext) -> None:
        with logging_context(event_id=self.event_id, user=self.user):
            try:
                if not ctx.turns.claim(self.event_id):
                    return
            except StoreError as exc:
                log.warning("dedupe unavailable, publishing anyway (views.publish is idempotent): %s", exc)
            call_slack("views.publish", ctx.client.views_publish, user_id=self.user, view=home_view(ctx.kb))


def on_home_opened(bot: TriageBot, body: dict[str, Any], event: dict[str, Any]) -> None:
    """Queue a views.publish for the user who opened the Home tab."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    bot.submit(HomeJob(str(event["user"]), body.get("event_id")))
