"""Every kind of work queued after an ack, as plain data, and the registry that names them.

A listener (in the process that acks Slack) turns a delivery into a job: a frozen dataclass
of strings, tuples and JSON-like dicts (a ``response_url`` as a string, never a Bolt
object), so it can be pickled into a worker process and written as JSON to the durable
inbox. What each kind does once a worker takes it is ``bot.slack.delivery.run_job``; this
module holds no behaviour beyond the properties derived from the fields, so the inbox can
rebuild a job from ``JOB_PARTS`` without importing any listener.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.conversation.model import Surface
from bot.slack.files import FileRef


def thread_key(team: str, channel: str, thread_ts: str) -> str:
    """The conversation key (``Incoming.thread``): ``team:channel:thread_ts``."""
    return f"{team}:{channel}:{thread_ts}"


# -- the parts of a job ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """What one Slack interaction asks of the engine, before files are downloaded."""

    team: str
    channel: str
    thread_ts: str
    user: str
    surface: Surface
    text: str = ""
    files: tuple[FileRef, ...] = ()
    action: str | None = None
    action_value: str | None = None
    event_id: str | None = None
    retry_num: str | None = None
    kind: str = ""
    received_at: float = field(default_factory=time.monotonic)
    masked: tuple[str, ...] = ()
    """What the intake redaction masked in ``text`` (``Masked.key`` strings; ``text`` is redacted)."""

    @property
    def thread(self) -> str:
        """The conversation key."""
        return thread_key(self.team, self.channel, self.thread_ts)


def describe_turn(turn: Turn) -> dict[str, Any]:
    """Log fields for a turn: thread, event id, kind (no user text)."""
    return {"thread": turn.thread, "event_id": turn.event_id, "kind": turn.kind, "surface": turn.surface}


@dataclass(frozen=True)
class ThreadTarget:
    """Replies go to a Slack thread (``chat.postMessage`` with ``thread_ts``)."""

    channel: str
    thread_ts: str


@dataclass(frozen=True)
class ResponseUrlTarget:
    """Replies go to an interaction's ``response_url`` (ephemeral); None when Slack sent none."""

    url: str | None


@dataclass(frozen=True)
class FallbackTarget:
    """Try ``primary``; when Slack refuses it, ``fallback``."""

    primary: Target
    fallback: Target


Target = ThreadTarget | ResponseUrlTarget | FallbackTarget
"""Where a job's replies (or its "busy" note) go; ``bot.slack.delivery.destinations`` opens it."""


# -- jobs --------------------------------------------------------------------------------------------
# Each has ``key`` (jobs with one key run one at a time, in order; None: any order),
# ``busy_target`` (where to say "busy, send it again" when the queue is full; None: drop,
# logged), ``event_id`` (the Slack event it came from, for the inbox) and ``describe()``
# (log fields, no user text).


@dataclass(frozen=True)
class TurnJob:
    """One conversation turn with its reply destination (mentions, DMs, thread replies, shortcuts)."""

    turn: Turn
    target: Target
    only_known_threads: bool = False
    """A channel thread reply: only answer in threads the bot already has a conversation in."""

    @property
    def key(self) -> str:
        return self.turn.thread

    @property
    def busy_target(self) -> Target | None:
        # A reply in a thread we may not be part of gets no "busy" note from a stranger.
        return None if self.only_known_threads else self.target

    @property
    def event_id(self) -> str | None:
        return self.turn.event_id

    def describe(self) -> dict[str, Any]:
        return describe_turn(self.turn)


@dataclass(frozen=True)
class ActionJob:
    """A button click: mark the clicked buttons as used, record feedback, run the turn."""

    turn: Turn
    message_ts: str
    message_text: str
    blocks: tuple[dict[str, Any], ...]
    block_id: str

    @property
    def key(self) -> str:
        return self.turn.thread

    @property
    def busy_target(self) -> ThreadTarget:
        return ThreadTarget(self.turn.channel, self.turn.thread_ts)

    @property
    def event_id(self) -> str | None:
        return self.turn.event_id

    def describe(self) -> dict[str, Any]:
        return {**describe_turn(self.turn), "action": self.turn.action}


@dataclass(frozen=True)
class CommandJob:
    """A slash command to answer after the ack: the command's form fields and its response_url."""

    command: dict[str, str]
    response_url: str | None
    bot_user_id: str | None
    masked: tuple[str, ...] = ()
    """What the intake redaction masked in the command's ``text`` (already redacted)."""

    @property
    def key(self) -> None:
        return None  # ``diagnose`` opens a new thread; nothing to order against

    @property
    def busy_target(self) -> Target:
        return ResponseUrlTarget(self.response_url)

    @property
    def event_id(self) -> None:
        return None  # interactions carry no event id; the inbox makes one up

    def describe(self) -> dict[str, Any]:
        return {"kind": "command", "channel": self.command.get("channel_id")}


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


QueuedJob = TurnJob | ActionJob | CommandJob | HomeJob
"""What a listener queues, and what the inbox stores."""


@dataclass(frozen=True)
class InboxJob:
    """A queued job as written to (or leased from) the durable inbox: after it runs, its item is
    marked done; when it fails, the failure is recorded for a bounded retry. Never stored
    itself: the inbox stores ``job``."""

    event_id: str
    owner: str
    job: QueuedJob
    recovered: bool = False
    """Leased again after an earlier lease that never completed (its process died mid-turn):
    its replies may already be in the thread, so they are checked before posting."""

    @property
    def key(self) -> str | None:
        return self.job.key

    @property
    def busy_target(self) -> Target | None:
        return self.job.busy_target

    def describe(self) -> dict[str, Any]:
        return {**self.job.describe(), "event_id": self.event_id}


Job = QueuedJob | InboxJob
"""What the runners run."""


# -- the registry ------------------------------------------------------------------------------------

JOB_KINDS: dict[str, type[QueuedJob]] = {
    "TurnJob": TurnJob,
    "ActionJob": ActionJob,
    "CommandJob": CommandJob,
    "HomeJob": HomeJob,
}
"""Every kind a listener queues, by the name stored in inbox payloads (the class name, so
payloads written by earlier versions still decode)."""

JOB_PARTS: dict[str, type[Any]] = {
    **JOB_KINDS,
    "Turn": Turn,
    "FileRef": FileRef,
    "ThreadTarget": ThreadTarget,
    "ResponseUrlTarget": ResponseUrlTarget,
    "FallbackTarget": FallbackTarget,
}
"""Every dataclass a stored job is made of: what ``bot.slack.delivery.job_json`` may rebuild."""
