"""A queued job as JSON for the durable inbox, and back, with what users typed redacted.

Only the dataclasses named in ``JOB_PARTS`` are rebuilt; anything else in a payload (written
by a newer version, or tampered with) is refused with a ValueError, never instantiated.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

from bot.evidence.redact import redact
from bot.slack.delivery.jobs import JOB_KINDS, JOB_PARTS, QueuedJob

PAYLOAD_VERSION = 1

_SKIPPED = {("Turn", "received_at")}
"""A monotonic clock reading means nothing in another process; a decoded turn gets a fresh one."""
_OMITTED_WHEN_EMPTY = {("Turn", "masked"), ("CommandJob", "masked")}
"""Fields added later: left out when empty, so payloads read the same as before they existed."""


def _clean(owner: str, name: str, value: Any) -> Any:
    """Redact what users typed before it is written anywhere: a turn's text, a command's text;
    a command's legacy verification token is not needed and not kept."""
    if owner == "Turn" and name == "text" and isinstance(value, str) and value:
        return redact(value)[0]
    if owner == "CommandJob" and name == "command" and isinstance(value, dict):
        cleaned = {k: v for k, v in value.items() if k != "token"}
        if isinstance(cleaned.get("text"), str):
            cleaned["text"] = redact(cleaned["text"])[0]
        return cleaned
    return value


def _encode(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        kind = type(value).__name__
        if JOB_PARTS.get(kind) is not type(value):
            raise TypeError(f"cannot store a {kind} in the inbox: it is not in JOB_PARTS")
        return {
            "__type__": kind,
            "fields": {
                f.name: _encode(_clean(kind, f.name, getattr(value, f.name)))
                for f in fields(value)
                if (kind, f.name) not in _SKIPPED
                and not ((kind, f.name) in _OMITTED_WHEN_EMPTY and not getattr(value, f.name))
            },
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in the inbox")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v) for k, v in value["__dict__"].items()}
    kind = value.get("__type__")
    cls = JOB_PARTS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown job part {kind!r}")
    return cls(**{k: _decode(v) for k, v in value.get("fields", {}).items()})


def encode_job(job: QueuedJob) -> str:
    """The job as JSON text, user text redacted (what the inbox stores)."""
    return json.dumps({"v": PAYLOAD_VERSION, "job": _encode(job)}, separators=(",", ":"))


def decode_job(payload: str) -> QueuedJob:
    """The job back from ``encode_job``'s JSON; ValueError (or TypeError) when it cannot be read."""
    data = json.loads(payload)
    if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
        raise ValueError("not an inbox payload of a known version")
    job = _decode(data.get("job"))
    if type(job) not in JOB_KINDS.values():
        raise ValueError(f"{type(job).__name__} is not a job")
    result: QueuedJob = job
    return result
