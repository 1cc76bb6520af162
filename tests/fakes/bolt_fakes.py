"""Stand-ins for what Bolt hands a listener (``ack``, ``respond``, ``context``, ``request``) and
for what a job runs with (Web API client, turn handler, store, inbox table), so a callback can
be called directly and what it did read back, as the Bolt starter template's tests do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest

from bot.slack.delivery.jobs import Job, Turn
from bot.slack.replies import Destination
from bot.slack.settings import SlackSettings
from bot.slack.triage_bot import CONTEXT_KEY
from tests.fakes.fake_slack import BOT_USER


@dataclass
class RecordingAck:
    """``ack``: records each call's keyword arguments."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@dataclass
class RecordingRespond:
    """``respond``: carries the interaction's ``response_url``; records what was sent through it."""

    response_url: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@dataclass
class RecordingTriage:
    """The ``TriageBot`` as a listener sees it: ``submit`` records the job (and accepts it)."""

    submitted: list[Job] = field(default_factory=list)
    settings: SlackSettings = field(default_factory=SlackSettings)

    def submit(self, job: Job) -> bool:
        self.submitted.append(job)
        return True


def context_for(triage: RecordingTriage, bot_user_id: str = BOT_USER) -> BoltContext:
    """A Bolt context as our middleware leaves it: the bot user id and the triage bot."""
    return BoltContext({"bot_user_id": bot_user_id, CONTEXT_KEY: triage})


def request_with(headers: dict[str, str] | None = None) -> BoltRequest:
    """A Bolt request carrying only ``headers`` (what the listeners read from it)."""
    return BoltRequest(body="{}", headers={k.lower(): [v] for k, v in (headers or {}).items()})


@dataclass
class RecordingClient:
    """The Web API methods jobs call: each call recorded as (method, kwargs); posts get a ts."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True, "ts": f"1900000000.{next(self._ts):06d}"}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.update", kwargs))
        return {"ok": True}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.publish", kwargs))
        return {"ok": True}


@dataclass
class RecordingTurns:
    """``TurnHandler``: records each turn run and where its replies would go; ``claim`` answers ``claims``."""

    runs: list[tuple[str, Turn, Destination]] = field(default_factory=list)
    claims: bool | Exception = True

    def run(self, turn: Turn, dest: Destination) -> list[Any]:
        self.runs.append(("run", turn, dest))
        return []

    def run_if_known(self, turn: Turn, dest: Destination) -> list[Any]:
        self.runs.append(("run_if_known", turn, dest))
        return []

    def claim(self, event_id: str | None) -> bool:
        if isinstance(self.claims, Exception):
            raise self.claims
        return self.claims


@dataclass
class RecordingStore:
    """The store calls a job makes besides turns: feedback clicks."""

    feedback: list[tuple[str, str, str]] = field(default_factory=list)
    fails_with: Exception | None = None

    def record_feedback(self, thread: str, user: str, value: str, comment: str | None = None) -> None:
        if self.fails_with is not None:
            raise self.fails_with
        self.feedback.append((thread, user, value))


@dataclass
class RecordingInboxTable:
    """``InboxTable.fail`` as a worker calls it after a failed inbox item."""

    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def fail(self, event_id: str, owner: str, error: str) -> bool:
        self.failed.append((event_id, owner, error))
        return False
