"""Data shared by the conversation engine, the store and the front doors (Slack, terminal).

Everything here is plain data: the engine is pure, the store persists ``ConversationState``
as JSON, renderers turn ``Reply`` into Block Kit or terminal text. No Slack imports.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.diagnosis.model import Diagnosis
from bot.faq.answer import Answer

Surface = Literal["message", "mention", "dm", "command", "shortcut", "action", "file", "cli"]
ReplyKind = Literal[
    "diagnosis",  # what matched, what it means, the fix so far, what evidence is still needed
    "faq",  # a confident FAQ answer
    "faq_unsure",  # the closest questions
    "guide_step",  # one numbered step of the guided fix, with Done / Paste output / Explain
    "guide_check",  # the verdict on output pasted for a step
    "guide_done",  # every step done
    "explain",  # the longer explanation of a step or finding
    "help",  # what the bot can do
    "error",  # input that could not be used, and what to paste instead
    "feedback_thanks",
    "human_handoff",  # "get a human": who/where to ask, the thread summarised
    "update",  # a later paste: what changed in the first answer (which is updated in place)
]

ACTION_IDS = (
    "guide_start",
    "guide_done",
    "guide_paste",
    "guide_explain",
    "feedback_helpful",
    "feedback_not_helpful",
    "feedback_human",
)
"""Button action ids. A button's ``value`` is at most 2000 characters (Slack's limit)."""

FEEDBACK_ACTION_ID = "feedback"
"""The ``action_id`` of Slack's own feedback element (👍/👎 in a ``context_actions`` block): its
clicked button's ``value`` names the action, one of ``FEEDBACK_ELEMENT_ACTIONS``."""

FEEDBACK_ELEMENT_ACTIONS = ("feedback_helpful", "feedback_not_helpful")
"""The actions the feedback element carries (positive, negative); "get a human" stays a button."""


@dataclass(frozen=True)
class IncomingFile:
    """A file or snippet already downloaded, size-checked and decoded as text."""

    name: str
    text: str
    masked: tuple[str, ...] = ()
    """What the intake redaction already masked in ``text`` (``Masked.key`` strings): the engine
    redacts again (a no-op then) and names these in its answer."""


@dataclass(frozen=True)
class Incoming:
    """One thing a user did in a thread.

    ``thread`` is the stable key: ``"{team}:{channel}:{thread_ts}"`` in Slack, where
    ``thread_ts`` is the parent message's ts (``event.thread_ts or event.ts``);
    ``"cli:{id}"`` in the terminal. ``text`` has Slack's escaping undone (``&lt;`` -> ``<``)
    and the bot mention removed; a front door redacts it at intake (``masked`` says what it
    masked), and the engine redacts whatever reaches it in any case.
    """

    thread: str
    user: str
    text: str = ""
    files: tuple[IncomingFile, ...] = ()
    surface: Surface = "message"
    action: str | None = None
    action_value: str | None = None
    masked: tuple[str, ...] = ()
    """What the front door's intake redaction masked in ``text`` before handing it on."""


@dataclass(frozen=True)
class Button:
    """A button under a reply; ``action_id`` is one of ``ACTION_IDS``."""

    action_id: str
    text: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Attachment:
    """Long content that goes into the thread as a file (diffs, full configs), never truncated."""

    filename: str
    title: str
    content: str
    filetype: str = "text"


@dataclass(frozen=True)
class GuideStep:
    """One numbered step of the guided fix."""

    number: int
    total: int
    kind: Literal["check", "change", "test", "reload", "verify"]
    title: str
    body: str
    command: str | None = None
    expect: str | None = None
    """What pasted output must show to pass, in words (the engine checks it)."""


@dataclass(frozen=True)
class Reply:
    """One message the bot sends. ``text`` is complete on its own (notification text,
    terminal output); the structured parts let a renderer lay it out richly."""

    kind: ReplyKind
    text: str
    diagnosis: Diagnosis | None = None
    answer: Answer | None = None
    step: GuideStep | None = None
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    command: str | None = None
    """The one command the user should run next (Slack shows it as a rich_text code block)."""
    replaces: str | None = None
    """The front door's reference to the thread's first answer (Slack: its ts) when this reply
    replaces it in place (``chat.update``); None posts a new message."""


@dataclass
class ConversationState:
    """Everything the bot remembers about one thread; persisted as JSON.

    ``pastes`` are the redacted texts of every paste and file in order: the diagnosis is
    recomputed from all of them on every turn, so a restart or another replica continues
    the thread from the store alone.
    """

    thread: str
    pastes: list[str] = field(default_factory=list)
    guide_step: int | None = None
    guide_done: list[int] = field(default_factory=list)
    awaiting_paste: int | None = None
    """The guide step whose output the user said they would paste next (``guide_paste``).
    Added after the first version: older JSON without it loads with None."""
    answer_ref: str | None = None
    """Where the front door posted the thread's first answer (Slack: the message ts), so later
    pastes update it in place; None in the terminal, or before the first answer."""
    config_stale: bool = False
    """Whether a change was applied after the thread's last `nginx -T`: a new diff then needs a
    fresh `nginx -T` (the old one would patch lines that moved)."""
    report_sent: bool = False
    """Whether the full report was attached already: it is attached once per thread."""
    environment: str | None = None
    target_concurrency: int | None = None
    feedback: list[dict[str, str]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    version: int = 0

    def to_json(self) -> str:
        """Serialised form for the store."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ConversationState:
        """Inverse of ``to_json``; unknown keys (from a newer version) are ignored."""
        data: dict[str, Any] = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
