"""The Web API client: base URL from SLACK_API_URL, 429s waited out, connection errors retried,
and one wrapper that turns every Slack failure into a log line with context instead of a crash."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.lazy_re import lazy_compile
from bot.slack.logs import log_context
from bot.slack.metrics import SLACK_API_ERRORS
from bot.slack.settings import SlackSettings

log = logging.getLogger("nginx_triage.slack.api")

RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


def build_web_client(settings: SlackSettings) -> WebClient:
    """A WebClient on SLACK_API_URL that honours 429 Retry-After and retries dropped connections."""
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.api_url,
        timeout=settings.http_timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def error_code(exc: BaseException) -> str:
    """Slack's error code (``not_in_channel``…) or a short name for transport failures."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        code = data.get("error")
        if exc.response.status_code == 429:
            return "ratelimited"
        return str(code) if code else f"http_{exc.response.status_code}"
    if isinstance(exc, SlackClientError):
        return "client_error"
    return type(exc).__name__


_LABEL = lazy_compile(r"[a-z0-9_.]{1,64}")


def metric_label(code: str) -> str:
    """An error code as a metric label: Slack's codes are short snake_case words; anything else
    (a proxy's HTML page, an exception text) is ``other``, so the series stay few."""
    return code if _LABEL.fullmatch(code) else "other"


def call_slack(method: str, fn: Callable[..., SlackResponse], /, **kwargs: Any) -> SlackResponse | None:
    """Call one Web API method; on failure log method, error code and context, count it, return None.

    Retries (429, connection errors) already happened inside the client by the time this
    sees an error, so a failure here is final: the caller gives up on this call.
    """
    try:
        return fn(**kwargs)
    except (SlackApiError, SlackClientError, OSError, ValueError) as exc:
        code = error_code(exc)
        SLACK_API_ERRORS.labels(method=method, error=metric_label(code)).inc()
        details: dict[str, Any] = {"method": method, "error": code}
        channel = kwargs.get("channel") or kwargs.get("channel_id")
        if channel:
            details["channel"] = channel
        if isinstance(exc, SlackApiError):
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            meta = data.get("response_metadata") or {}
            if meta.get("messages"):
                details["slack_messages"] = meta["messages"]
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            if retry_after:
                details["retry_after"] = retry_after
        else:
            details["detail"] = str(exc)[:300]
        ctx = log_context.get() or {}
        log.error(
            "Slack API call %s failed (%s); giving up on it",
            method,
            code,
            extra={k: v for k, v in details.items() if k not in ctx},
        )
        return None
