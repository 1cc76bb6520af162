"""The Bolt app: request verification that logs no payload, Bolt's self-event filtering, our
counters, the ``TriageBot`` put in every request's context, and our listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse

from bot.slack.listeners import register_listeners
from bot.slack.logs import WithholdPayloads
from bot.slack.metrics import EVENTS_RECEIVED
from bot.slack.request_checks import check_parsed
from bot.slack.triage_bot import CONTEXT_KEY, TriageBot
from bot.slack.verification import QuietRequestVerification

BOLT_LOGGER = "nginx_triage.slack.bolt"
"""Bolt's base logger: its own loggers copy this one's level, handlers and filters."""


KNOWN_TYPES = frozenset(
    {
        "app_mention",
        "message",
        "app_home_opened",
        "app_rate_limited",
        "block_actions",
        "message_action",
        "shortcut",
        "view_submission",
        "view_closed",
        "url_verification",
        "event",
        "unknown",
    }
)
"""Metric labels a request may get; anything else is ``other`` (a payload must not grow the series)."""


def request_type(body: dict[str, Any]) -> str:
    """A short label for metrics: the event type, ``command``, ``block_actions``, ``message_action``…"""
    if body.get("command"):
        return "command"
    kind = str(body.get("type") or "unknown")
    if kind == "event_callback":
        event = body.get("event") or {}
        kind = str(event.get("type") or "event") if isinstance(event, dict) else "event"
    return kind if kind in KNOWN_TYPES else "other"


def build_app(bot: TriageBot) -> App:
    """A Bolt app whose listeners only turn a delivery into a picklable job and queue it
    (``triage_of(context).submit``, which never waits for room); the turn runs after the ack, in a worker
    process, so the ack never waits for the engine or the Web API.

    With the durable inbox on, listeners run before the ack (``process_before_response``)
    so the job is written to the inbox (one INSERT) before Slack hears 200: an acked delivery
    is always on disk. With it off, Bolt acks first and runs the listener after.
    """
    settings = bot.settings
    base_logger = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(f, WithholdPayloads) for f in base_logger.filters):
        base_logger.addFilter(WithholdPayloads())
    app = App(
        name="nginx-triage",
        client=bot.client,
        signing_secret=settings.signing_secret,
        process_before_response=bot.inbox is not None,
        # auth.test runs on the first request, not here: the process must start with Slack down.
        token_verification_enabled=False,
        # Bolt's verification logs a rejected request's body; ours checks the same signature
        # in the same place (right after the SSL check) and logs only size, skew and team.
        request_verification_enabled=False,
        before_authorize=QuietRequestVerification(settings.signing_secret),
        ignoring_self_events_enabled=True,
        listener_executor=ThreadPoolExecutor(
            max_workers=settings.listener_threads, thread_name_prefix="nginx-triage-listener"
        ),
        logger=base_logger,
    )

    @app.use
    def count_requests_and_add_the_bot(
        req: BoltRequest, body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        EVENTS_RECEIVED.labels(type=request_type(body)).inc()
        if req.mode == "socket_mode":  # HTTP requests were checked at the front door already
            rejection = check_parsed(body)
            if rejection is not None:
                return BoltResponse(status=rejection.status, body={"error": rejection.reason})
        context[CONTEXT_KEY] = bot  # listeners are module functions: they find the bot here
        return next()

    register_listeners(app)
    return app
