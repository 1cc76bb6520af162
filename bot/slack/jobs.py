"""Work queued after an ack, as plain picklable data, and what runs it.

A listener (in the process that acks Slack) turns a delivery into a ``Job``: a frozen
dataclass of strings, tuples and JSON-like dicts (a ``response_url`` as a string, never a
Bolt object), so it can cross into a worker process. The worker runs ``job.run(ctx)`` with
its own ``JobContext``: knowledge base, engine, store connection and Web API client built
from the same settings as the parent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.knowledge.loader import KnowledgeBase
from bot.slack.logs import logging_context
from bot.slack.ports import ConversationStore
from bot.slack.replies import Destination, FallbackDestination, ResponseUrlDestination, ThreadDestination
from bot.slack.settings import SlackSettings
from bot.slack.turns import Turn, TurnHandler

log = logging.getLogger("nginx_triage.slack.jobs")


# -- where replies go, as data ---------------------------------------------------------------


@dataclass(frozen=True)
class ThreadTarget:
    """A Slack thread (``chat.postMessage`` with ``thread_ts``)."""

    channel: str
    thread_ts: str

    def open(self, client: WebClient) -> Destination:
        """The destination, bound to ``client``."""
        return ThreadDestination(client, self.channel, self.thread_ts)


@dataclass(frozen=True)
class ResponseUrlTarget:
    """An interaction's ``response_url`` (ephemeral replies); None when Slack sent none."""

    url: str | None

    def open(self, client: WebClient) -> Destination:
        """The destination (the Web API client is not needed for a response_url)."""
        return ResponseUrlDestination(Respond(response_url=self.url))


@dataclass(frozen=True)
class FallbackTarget:
    """Try ``primary``; when Slack refuses it, ``fallback``."""

    primary: Target
    fallback: Target

    def open(self, client: WebClient) -> Destination:
        """Both destinations, bound to ``client``."""
        return FallbackDestination(self.primary.open(client), self.fallback.open(client))


Target = ThreadTarget | ResponseUrlTarget | FallbackTarget


# -- what a job runs with ---------------------------------------------------------------------


@dataclass
class JobContext:
    """Everything a job needs; one per worker process (or one shared by the in-process pool)."""

    settings: SlackSettings
    client: WebClient
    store: ConversationStore
    kb: KnowledgeBase
    turns: TurnHandler

    @classmethod
    def build(
        cls,
        settings: SlackSettings,
        *,
        store: ConversationStore | None = None,
        kb: KnowledgeBase | None = None,
        engine: Any = None,
        client: WebClient | None = None,
    ) -> JobContext:
        """Wire the real engine, store and Web API client from ``settings``; each may be passed in.

        Nothing here talks to Slack or the database.
        """
        from bot.conversation.engine import ConversationEngine
        from bot.knowledge.loader import load_kb
        from bot.matching.matcher import Matcher
        from bot.slack.files import FileFetcher
        from bot.slack.webclient import build_web_client
        from bot.store import Store

        kb = kb if kb is not None else load_kb()
        client = client if client is not None else build_web_client(settings)
        store = store if store is not None else Store(settings.database_url)
        engine = (
            engine
            if engine is not None
            else ConversationEngine(
                kb, Matcher(kb), max_paste_bytes=settings.max_file_bytes, max_thread_bytes=4 * settings.max_file_bytes
            )
        )
        turns = TurnHandler(settings, store, engine, FileFetcher(settings, client))
        return cls(settings=settings, client=client, store=store, kb=kb, turns=turns)

    def close(self) -> None:
        """Close the store's connections (worker shutdown)."""
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


# -- jobs -------------------------------------------------------------------------------------


class Job(Protocol):
    """Work for after the ack. Implementations are frozen dataclasses of picklable values."""

    @property
    def key(self) -> str | None:
        """The conversation it belongs to: jobs with one key run one at a time, in order. None: any order."""
        ...

    @property
    def busy_target(self) -> Target | None:
        """Where to say "busy, send it again" when the queue is full; None to drop silently (logged)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Fields for log lines about this job (no user text)."""
        ...

    def run(self, ctx: JobContext) -> None:
        """Do the work; exceptions are logged by the caller."""
        ...


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

    def describe(self) -> dict[str, Any]:
        return describe_turn(self.turn)

    def run(self, ctx: JobContext) -> None:
        dest = self.target.open(ctx.client)
        if self.only_known_threads:
            ctx.turns.run_if_known(self.turn, dest)
        else:
            ctx.turns.run(self.turn, dest)


def describe_turn(turn: Turn) -> dict[str, Any]:
    """Log fields for a turn: thread, event id, kind."""
    return {"thread": turn.thread, "event_id": turn.event_id, "kind": turn.kind, "surface": turn.surface}


def run_job(ctx: JobContext, job: Job) -> None:
    """Run one job; any exception ends in a log line, never in the caller."""
    try:
        job.run(ctx)
    except Exception:
        with logging_context(**job.describe()):
            log.exception("a turn failed")
