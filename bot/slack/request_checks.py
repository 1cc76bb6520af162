"""What a POST to /slack/events must pass before Bolt sees it: the signature first, then the shape.

Bolt parses the body while it builds its request object, before any middleware runs, so a
malformed body (signed or not) raised inside the HTTP handler: no answer, a traceback in the
log. Here the order is the safe one. The signature is checked on the raw bytes (no parsing
of anything an attacker sent before it is known to come from Slack): a missing, malformed,
stale or wrong signature is 401. Then the body must parse the way Bolt will parse it (JSON,
or a form whose ``payload`` is JSON) into an object, and every id and number in it must be
bounded: a string id of sane length, integers that fit the database (an ``event_id`` of
2**70 overflowed SQLite), no NaN. Anything else is 400. The rejection is logged with its
reason and sizes, never with the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.lazy_re import lazy_compile
from bot.slack.metrics import REQUESTS_REJECTED

log = logging.getLogger("nginx_triage.slack.http")

MAX_SKEW_S = 300
"""Slack's replay window: a timestamp further from now than this is rejected."""
MAX_INT = 2**53
"""Largest integer magnitude accepted anywhere in a payload (exact in JSON, far inside SQLite's 2**63)."""
MAX_DEPTH = 32
MAX_ID_CHARS = 255
"""Slack ids (event, team, channel, user, ts, trigger) are far shorter; the database columns hold 255."""
MAX_FORM_FIELDS = 200
ID_KEYS = frozenset(
    {
        "event_id",
        "team_id",
        "enterprise_id",
        "api_app_id",
        "channel",
        "channel_id",
        "user",
        "user_id",
        "team",
        "ts",
        "thread_ts",
        "event_ts",
        "message_ts",
        "action_ts",
        "trigger_id",
        "callback_id",
        "action_id",
        "block_id",
        "response_url",
        "command",
    }
)
"""Keys whose value, wherever it appears, is a Slack id string (or an object holding one)."""
FREE_TEXT_IDS = frozenset({"response_url", "command", "action_id", "block_id", "callback_id"})
"""Of ``ID_KEYS``, those whose string is ours or a URL: bounded, no control characters, any shape."""
OBJECT_KEYS = frozenset({"event", "container", "message", "view", "state", "bot_profile", "previous_message"})
"""Keys Bolt reads as objects (``body["event"].get(...)``): anything else there is refused."""
LIST_OF_OBJECT_KEYS = frozenset({"authorizations", "actions", "files"})
"""Keys Bolt or the listeners read as lists of objects."""
OBJECT_IDS = frozenset({"team", "user", "channel"})
"""Of ``ID_KEYS``, those interactivity payloads send as an object (``{"id": ...}``)."""
REQUIRED_IN_ITEMS = {"actions": "action_id"}
"""Each object of such a list must hold this key (Bolt indexes it)."""
_TIMESTAMP = lazy_compile(r"[0-9]{1,12}")
_SIGNATURE = lazy_compile(r"v0=[0-9a-f]{64}")
_CONTROL = lazy_compile(r"[\x00-\x1f\x7f]")
_SLACK_ID = lazy_compile(r"[A-Za-z0-9._:+/=@-]*")
"""What Slack ids and timestamps are made of: ``Ev0A1B``, ``C0123``, ``1800000000.000100``, ``1.2.3.abc``."""


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: the HTTP status and a short reason (safe to send and log)."""

    status: int
    reason: str


def _reject(status: int, reason: str, **fields: Any) -> Rejection:
    REQUESTS_REJECTED.labels(status=str(status)).inc()
    log.warning("rejected a request: %s", reason, extra={"status": status, **fields})
    return Rejection(status, reason)


_CLAIMED_TEAM = lazy_compile(rb'team_id(?:"\s*:\s*"|=)([TE][A-Z0-9]{2,20})\b')


def claimed_team(body: bytes) -> str:
    """The workspace id an unverified body claims (for the rejection log line), found by a bounded
    search of its first 64 KB (never by parsing it); ``unknown`` when there is none."""
    found = _CLAIMED_TEAM.search(body, 0, 65536)
    return found.group(1).decode("ascii") if found else "unknown"


def verify_signature(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> Rejection | None:
    """None when ``body`` is signed by Slack with ``secret`` within the replay window."""
    size = len(body)
    team = claimed_team(body)
    if not timestamp or not signature:
        return _reject(401, "missing signature headers", bytes=size, team=team)
    if not _TIMESTAMP.fullmatch(timestamp):
        return _reject(401, "timestamp is not a number", bytes=size, team=team)
    skew = int(now) - int(timestamp)
    if abs(skew) > MAX_SKEW_S:
        return _reject(401, "timestamp outside the 5-minute window", bytes=size, skew_s=skew, team=team)
    if not secret or not _SIGNATURE.fullmatch(signature):
        return _reject(401, "signature does not match the signing secret", bytes=size, skew_s=skew, team=team)
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return _reject(401, "signature does not match the signing secret", bytes=size, skew_s=skew, team=team)
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number Slack sends")


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text, parse_constant=_no_constant)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def parse_like_bolt(body: str, content_type: str) -> dict[str, Any]:
    """The payload Bolt will see (it parses JSON when the type says so or the body starts with
    ``{``, else a form whose ``payload`` field is JSON). ValueError when it does not parse."""
    if content_type.startswith("application/json") or body.startswith("{"):
        return _json_object(body)
    form = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    fields = {k: v[0] for k, v in form.items()}
    if "payload" in fields:
        return _json_object(fields["payload"])
    return fields


def _key_shape(value: Any, key: str | None) -> str | None:
    """Why ``value`` has the wrong type or shape for ``key`` (an id, an object, a list), or None."""
    if key in ID_KEYS:
        if isinstance(value, dict) and key in OBJECT_IDS:
            return None
        if not isinstance(value, str):
            return f"{key} is not a string"
        if len(value) > MAX_ID_CHARS or _CONTROL.search(value):
            return f"{key} is not a Slack id"
        if key not in FREE_TEXT_IDS and not _SLACK_ID.fullmatch(value):
            return f"{key} is not a Slack id"
    if key in OBJECT_KEYS and not isinstance(value, dict):
        return f"{key} is not an object"
    if key in LIST_OF_OBJECT_KEYS:
        if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{key} is not a list of objects"
        required = REQUIRED_IN_ITEMS.get(key)
        if required and not all(isinstance(v.get(required), str) for v in value):
            return f"{key} without {required}"
    return None


def _bounded(value: Any, key: str | None, depth: int) -> str | None:
    """Why ``value`` (found under ``key``) is out of bounds, or None."""
    if depth > MAX_DEPTH:
        return "nested too deeply"
    if value is None and key not in OBJECT_KEYS and key not in LIST_OF_OBJECT_KEYS:
        return None
    why = _key_shape(value, key)
    if why or isinstance(value, bool):
        return why
    if isinstance(value, int | float):
        in_range = abs(value) <= MAX_INT and (isinstance(value, int) or math.isfinite(value))
        return None if in_range else f"{key or 'a number'} is out of range"
    children: list[tuple[str | None, Any]] = []
    if isinstance(value, Mapping):
        children = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(None, v) for v in value]
    for child_key, child in children:
        why = _bounded(child, child_key, depth + 1)
        if why:
            return why
    return None


def check_parsed(payload: Mapping[str, Any]) -> Rejection | None:
    """The bounds of ``check_payload`` on a payload parsed already (a Socket Mode envelope's)."""
    why = _bounded(payload, None, 0)
    return _reject(400, f"payload out of bounds: {why}") if why else None


def check_payload(body: bytes, content_type: str) -> Rejection | None:
    """None when a (verified) body parses like Bolt's parser and every id and number is bounded."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _reject(400, "body is not UTF-8", bytes=len(body))
    try:
        payload = parse_like_bolt(text, content_type.lower())
    except (ValueError, RecursionError) as exc:
        kind = "JSON" if isinstance(exc, json.JSONDecodeError) else "body"
        return _reject(400, f"malformed {kind}", bytes=len(body), error=type(exc).__name__)
    why = _bounded(payload, None, 0)
    if why:
        return _reject(400, f"payload out of bounds: {why}", bytes=len(body))
    return None
