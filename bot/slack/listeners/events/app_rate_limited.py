"""``app_rate_limited``: Slack says it is dropping this app's events (over 30,000 an hour)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("nginx_triage.slack.events")


def app_rate_limited_callback(body: dict[str, Any]) -> None:
    """Log it loudly: nothing can be done about the events already dropped."""
    log.error(
        "Slack is dropping events: over 30,000 per hour for this app",
        extra={"minute_rate_limited": body.get("minute_rate_limited")},
    )
