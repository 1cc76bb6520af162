"""Slack request verification that never logs what it rejects.

Bolt's own ``RequestVerification`` logs a rejected request's whole body at INFO ("Invalid
request signature detected ... body: ..."). Deliveries are rejected for ordinary reasons (a
late retry past Slack's five-minute window, clock skew, a rotated signing secret), and their
bodies carry what people pasted: configuration with its secrets. This middleware checks the
same signature (``slack_sdk``'s ``SignatureVerifier``: HMAC-SHA256, constant-time compare,
the five-minute window) and, on rejection, logs only why, the body's size, the timestamp's
skew and the workspace id: enough to tell a stale retry from a wrong secret, nothing pasted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.signature import SignatureVerifier

from bot.lazy_re import lazy_compile

log = logging.getLogger("nginx_triage.slack.verification")

MAX_SKEW_S = 300
"""Slack's replay window (``SignatureVerifier``'s): older or newer timestamps are rejected."""
_TEAM_ID = lazy_compile(r"[TE][A-Z0-9]{2,20}")


def _first(req: BoltRequest, name: str) -> str:
    values = req.headers.get(name)
    if not values:
        return ""
    return values if isinstance(values, str) else str(values[0])


def _team(body: Mapping[str, Any]) -> str:
    """The workspace id the (unverified) body claims, only when it has a workspace id's shape."""
    candidates = [body.get("team_id"), body.get("enterprise_id")]
    for nested in ("team", "user"):
        value = body.get(nested)
        if isinstance(value, Mapping):
            candidates += [value.get("id"), value.get("team_id")]
    for value in candidates:
        if isinstance(value, str) and _TEAM_ID.fullmatch(value):
            return value
    return "unknown"


def _why(timestamp: str, signature: str, now: float) -> tuple[str, int | None]:
    """(reason in words, skew in seconds when the timestamp is a number)."""
    if not timestamp or not signature:
        return "missing signature headers", None
    if not timestamp.isdigit():
        return "timestamp is not a number", None
    skew = int(now) - int(timestamp)
    if abs(skew) > MAX_SKEW_S:
        return "timestamp outside the 5-minute window", skew
    return "signature does not match the signing secret", skew


class QuietRequestVerification(Middleware):
    """Verifies ``X-Slack-Signature`` like Bolt's middleware; logs a rejection without its body."""

    def __init__(self, signing_secret: str) -> None:
        self._signing_secret = signing_secret
        self._verifier: SignatureVerifier | None = None

    @property
    def verifier(self) -> SignatureVerifier:
        """Made on first use: Socket Mode runs without a signing secret and never needs one."""
        if self._verifier is None:
            self._verifier = SignatureVerifier(signing_secret=self._signing_secret)
        return self._verifier

    @property
    def name(self) -> str:
        return "QuietRequestVerification"

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # Bolt's keyword
    ) -> BoltResponse:
        if req.mode == "socket_mode":
            return next()  # the websocket itself is authenticated; no signature to check
        timestamp = _first(req, "x-slack-request-timestamp")
        signature = _first(req, "x-slack-signature")
        if (
            timestamp
            and signature
            and self._signing_secret
            and self.verifier.is_valid(req.raw_body, timestamp, signature)
        ):
            return next()
        reason, skew = _why(timestamp, signature, time.time())
        log.warning(
            "rejected a request: %s",
            reason,
            extra={"bytes": len(req.raw_body.encode("utf-8")), "skew_s": skew, "team": _team(req.body)},
        )
        return BoltResponse(status=401, body={"error": "invalid request"})
