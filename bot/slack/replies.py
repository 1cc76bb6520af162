"""Where replies go: a thread (chat.postMessage + files_upload_v2) or a response_url (ephemeral)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.conversation.model import Reply
from bot.render.blocks import SlackMessage, render_reply, validate_message
from bot.slack.metrics import MATCHES, REPLIES_SENT, SLACK_API_ERRORS
from bot.slack.webclient import call_slack

log = logging.getLogger("nginx_triage.slack.replies")

SNIPPET_TYPES = frozenset({"diff", "text", "nginx", "shell", "yaml", "json", "ini", "markdown", "plain"})
"""Snippet types we pass to Slack for syntax highlighting; others upload as plain text."""


def render_checked(reply: Reply) -> SlackMessage:
    """Render a reply; if the blocks break a Slack limit, send the text alone rather than fail."""
    msg = render_reply(reply)
    problems = validate_message(msg)
    if problems:
        log.error(
            "rendered blocks break Slack limits; sending text only",
            extra={"reply_kind": reply.kind, "problems": problems[:5]},
        )
        return SlackMessage(text=msg.text, blocks=[], files=msg.files)
    return msg


def count_matches(reply: Reply) -> None:
    """Count each KB entry named in a posted diagnosis."""
    if reply.diagnosis is not None:
        for match in reply.diagnosis.matches:
            MATCHES.labels(kb_id=match.kb_id).inc()


class Destination(Protocol):
    """Somewhere a reply can be posted."""

    def post(self, reply: Reply) -> bool:
        """Post one reply (and its files); False when Slack refused it for good."""
        ...


REPLY_EVENT_TYPE = "nginx_triage_reply"
"""Slack message metadata ``event_type`` on every reply posted for an inbox item."""
MAX_HISTORY_PAGES = 5
"""``conversations.replies`` pages read when checking what a re-run already posted (200 messages each)."""


@dataclass
class ReplyKey:
    """The idempotency key of a turn's replies: the inbox item's event id, put in each reply's
    message metadata with the reply's place in the turn (``part``). ``check``: this run may be
    a re-run (its item was leased before and never completed), so read the thread first and
    skip the parts already there."""

    event_id: str
    check: bool
    posted: set[int] | None = None
    next_part: int = 0
    skipped: list[int] = field(default_factory=list)


_REPLY_KEY: ContextVar[ReplyKey | None] = ContextVar("nginx_triage_reply_key", default=None)


@contextmanager
def idempotent_replies(event_id: str, *, check: bool) -> Iterator[ReplyKey]:
    """While running one inbox item: thread replies carry ``event_id`` in their metadata, and
    with ``check`` a reply already in the thread (posted by a run that died before it could
    record it) is not posted again."""
    key = ReplyKey(event_id, check)
    token = _REPLY_KEY.set(key)
    try:
        yield key
    finally:
        _REPLY_KEY.reset(token)


def parts_already_posted(client: WebClient, channel: str, thread_ts: str, event_id: str) -> set[int]:
    """The ``part`` numbers of replies for ``event_id`` already in the thread (from their metadata)."""
    found: set[int] = set()
    cursor: str | None = None
    for _ in range(MAX_HISTORY_PAGES):
        resp = call_slack(
            "conversations.replies",
            client.conversations_replies,
            channel=channel,
            ts=thread_ts,
            include_all_metadata=True,
            limit=200,
            **({"cursor": cursor} if cursor else {}),
        )
        if resp is None:
            break
        for message in resp.get("messages") or ():
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == REPLY_EVENT_TYPE and payload.get("event_id") == event_id:
                part = payload.get("part")
                if isinstance(part, int):
                    found.add(part)
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return found


OPENER_PART = -1
"""The ``part`` of the top-level message a slash command's diagnosis opens its thread under."""


def opened_before(client: WebClient, channel: str, event_id: str) -> str | None:
    """The ts of the thread opener a run that died already posted for ``event_id`` (recent
    channel history, by its metadata); None when there is none."""
    resp = call_slack(
        "conversations.history",
        client.conversations_history,
        channel=channel,
        include_all_metadata=True,
        limit=200,
    )
    if resp is None:
        return None
    for message in resp.get("messages") or ():
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if (
            meta.get("event_type") == REPLY_EVENT_TYPE
            and payload.get("event_id") == event_id
            and payload.get("part") == OPENER_PART
        ):
            return str(message.get("ts") or "") or None
    return None


def opener_key(client: WebClient, channel: str) -> tuple[dict[str, Any] | None, str | None]:
    """(metadata for a thread opener, the ts of one already posted by an earlier run of this
    inbox item): a re-run continues under the same top-level message instead of a second one."""
    key = _REPLY_KEY.get()
    if key is None:
        return None, None
    metadata = {"event_type": REPLY_EVENT_TYPE, "event_payload": {"event_id": key.event_id, "part": OPENER_PART}}
    existing = opened_before(client, channel, key.event_id) if key.check else None
    if existing:
        log.warning("thread opener already posted by an earlier run; continuing under it")
    return metadata, existing


class ThreadDestination:
    """Replies in a Slack thread: the message, then each attachment as an uploaded file."""

    def __init__(self, client: WebClient, channel: str, thread_ts: str) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.answer_ts: str | None = None
        """The ts of a first answer (a diagnosis posted as a new message) this destination posted:
        the turn handler stores it, so later pastes update that message in place."""

    def update_text(self, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """Replace the message ``ts`` in place (``chat.update``); False when Slack refused."""
        resp = call_slack(
            "chat.update", self.client.chat_update, channel=self.channel, ts=ts, text=text, blocks=blocks or []
        )
        return resp is not None

    def post_text(
        self, text: str, blocks: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None
    ) -> str | None:
        """Post a message in the thread; its ts, or None when Slack refused."""
        resp = call_slack(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=self.channel,
            thread_ts=self.thread_ts,
            text=text,
            blocks=blocks or None,
            unfurl_links=False,
            unfurl_media=False,
            **({"metadata": metadata} if metadata else {}),
        )
        if resp is None:
            return None
        REPLIES_SENT.inc()
        return str(resp.get("ts") or "")

    def _keyed(self) -> tuple[dict[str, Any] | None, bool]:
        """(metadata for the next reply, whether a previous run already posted it)."""
        key = _REPLY_KEY.get()
        if key is None:
            return None, False
        part = key.next_part
        key.next_part += 1
        if key.check and key.posted is None:
            key.posted = parts_already_posted(self.client, self.channel, self.thread_ts, key.event_id)
        metadata = {"event_type": REPLY_EVENT_TYPE, "event_payload": {"event_id": key.event_id, "part": part}}
        if key.posted and part in key.posted:
            key.skipped.append(part)
            log.warning("reply already posted by an earlier run; not posting it again", extra={"part": part})
            return metadata, True
        return metadata, False

    def post(self, reply: Reply) -> bool:
        """Post the message, then upload its attachments into the same thread (nothing when a
        run that died already posted this reply: see ``idempotent_replies``)."""
        msg = render_checked(reply)
        metadata, done = self._keyed()
        if done:
            return True
        if reply.replaces and self.update_text(reply.replaces, msg.text, msg.blocks):
            pass  # the thread's first answer, updated in place; a refused update posts it anew below
        else:
            ts = self.post_text(msg.text, msg.blocks, metadata)
            if ts is None:
                return False
            if reply.kind == "diagnosis":
                self.answer_ts = ts
        count_matches(reply)
        for attachment in msg.files:
            snippet = attachment.filetype if attachment.filetype in SNIPPET_TYPES else None
            uploaded = call_slack(
                "files.upload_v2",
                self.client.files_upload_v2,
                channel=self.channel,
                thread_ts=self.thread_ts,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
                snippet_type=snippet,
            )
            if uploaded is None:
                # The message went out; say plainly that its file did not, rather than stay silent.
                self.post_text(
                    f"I could not upload `{attachment.filename}` to this thread; ask me again in a minute to get it."
                )
        return True


class ResponseUrlDestination:
    """Ephemeral replies through an interaction's response_url (slash commands, shortcuts)."""

    def __init__(self, respond: Callable[..., Any]) -> None:
        self._respond = respond

    def post(self, reply: Reply) -> bool:
        """Post the reply to the user only; files cannot be ephemeral, so they are named instead."""
        msg = render_checked(reply)
        text, blocks = msg.text, list(msg.blocks)
        if msg.files:
            names = ", ".join(f"`{f.filename}`" for f in msg.files)
            note = f"This answer comes with {names}: run it in a thread where I am a member to get the files."
            text = f"{text}\n\n{note}"
            if blocks:
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
        try:
            result = self._respond(text=text, blocks=blocks or None, response_type="ephemeral", replace_original=False)
            status = int(getattr(result, "status_code", 200))
            if status >= 400:
                raise ValueError(f"http_{status}")
        except (SlackClientError, OSError, ValueError) as exc:
            code = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
            SLACK_API_ERRORS.labels(method="response_url", error=code).inc()
            log.error(
                "posting to response_url failed; giving up on it", extra={"method": "response_url", "error": code}
            )
            return False
        REPLIES_SENT.inc()
        count_matches(reply)
        return True


class FallbackDestination:
    """Try the thread; when Slack refuses (bot not in the channel…), tell the user privately."""

    def __init__(self, primary: Destination, fallback: Destination) -> None:
        self._primary = primary
        self._fallback = fallback

    @property
    def answer_ts(self) -> str | None:
        """The first answer's ts when the primary (a thread) posted it."""
        return getattr(self._primary, "answer_ts", None)

    def post(self, reply: Reply) -> bool:
        """Post to the primary destination, else to the fallback."""
        return self._primary.post(reply) or self._fallback.post(reply)
