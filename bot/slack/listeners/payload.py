"""Facts about one delivery from Slack that the listeners of every surface need."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from slack_bolt.request import BoltRequest

from bot.evidence.redaction import redact_intake
from bot.slack.files import FileRef
from bot.slack.settings import SlackSettings
from bot.slack.text import clean_text

log = logging.getLogger("nginx_triage.slack.listeners")


def header(request: BoltRequest, name: str) -> str | None:
    """One request header (Bolt stores them lower-cased, as lists); Socket Mode mirrors the retry ones."""
    values: Sequence[str] | str | None = request.headers.get(name.lower())
    if not values:
        return None
    return values if isinstance(values, str) else values[0]


def user_text(raw: str, bot_user_id: str | None) -> tuple[str, tuple[str, ...]]:
    """What the user typed, as the engine reads it: Slack's markup undone, then redacted at
    intake (before it is queued, written to the inbox or can reach a log); with what was masked."""
    result = redact_intake(clean_text(raw, bot_user_id))
    return result.text, result.keys


def retry_num(request: BoltRequest) -> str | None:
    """X-Slack-Retry-Num of an Events API retry, else None."""
    return header(request, "x-slack-retry-num")


def team_of(body: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> str:
    """The workspace id, wherever this payload keeps it."""
    team = body.get("team_id") or (event or {}).get("team")
    if not team and isinstance(body.get("team"), Mapping):
        team = body["team"].get("id")
    if not team and isinstance(body.get("user"), Mapping):
        team = body["user"].get("team_id")
    return str(team or "T0")


def file_refs(message: Mapping[str, Any]) -> tuple[FileRef, ...]:
    """Files and snippets shared with a message."""
    out: list[FileRef] = []
    for f in message.get("files") or ():
        if isinstance(f, Mapping) and f.get("id"):
            out.append(FileRef(id=str(f["id"]), name=str(f.get("name") or f.get("title") or "")))
    return tuple(out)


def is_from_a_bot(event: Mapping[str, Any]) -> bool:
    """Messages by bots (ours included) never start a turn: no loops."""
    return bool(event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"))


def checked_response_url(raw: object, settings: SlackSettings) -> str | None:
    """The payload's ``response_url`` when it points at Slack (``SlackSettings.response_url_allowed``);
    None otherwise (logged with the host only): the answer then goes nowhere rather than elsewhere."""
    url = str(raw or "")
    if not url:
        return None
    if settings.response_url_allowed(url):
        return url
    log.warning("ignored a response_url that is not on Slack's hosts", extra={"host": urlparse(url).hostname})
    return None
