"""``app_rate_limited_callback``: Slack dropping our events is logged as an error with its minute."""

from __future__ import annotations

import logging

import pytest

from bot.slack.listeners.events.app_rate_limited import app_rate_limited_callback


def test_the_notice_is_logged_with_the_minute(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nginx_triage.slack.events"):
        app_rate_limited_callback(body={"type": "app_rate_limited", "minute_rate_limited": 1518467820})
    (record,) = caplog.records
    assert "over 30,000 per hour" in record.getMessage()
    assert record.__dict__["minute_rate_limited"] == 1518467820
