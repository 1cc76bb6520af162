"""The bot's parts in the serving process, built once and reached by every listener through
Bolt's ``context`` (``context["triage"]``, put there by a middleware in ``bot.slack.app``)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.knowledge.loader import KnowledgeBase, load_kb
from bot.knowledge.texts import say
from bot.slack.delivery.destinations import open_target
from bot.slack.delivery.dispatcher import Dispatcher
from bot.slack.delivery.inbox import Inbox
from bot.slack.delivery.inbox_table import InboxTable
from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import InboxJob, Job, QueuedJob, Target
from bot.slack.delivery.thread_runner import ThreadRunner
from bot.slack.delivery.turn_handler import error_reply
from bot.slack.logs import logging_context
from bot.slack.metrics import TURNS_DEFERRED, TURNS_REJECTED
from bot.slack.ports import ConversationStore, Engine
from bot.slack.settings import SlackSettings
from bot.slack.webclient import build_web_client
from bot.store import Store

log = logging.getLogger("nginx_triage.slack")

CONTEXT_KEY = "triage"
"""Where the middleware puts the ``TriageBot`` in each request's Bolt context."""

BUSY = "I'm swamped right now and could not take this on. Nothing was saved from it: send it again in a minute."
"""Only when the durable inbox could not be written (database down) and the queue is full."""
WORKING = "Lots of requests right now: yours is safely queued and I will answer here as soon as I get to it."
"""Posted once for a delivery that waited ``working_note_s`` in the inbox for a free worker."""


@dataclass
class TriageBot:
    """Settings, Web API client, store, knowledge base, where jobs run (``runner``) and the
    durable inbox every job is written to before the ack (``inbox``; None: memory only)."""

    settings: SlackSettings
    client: WebClient
    store: ConversationStore
    kb: KnowledgeBase
    runner: Dispatcher
    inbox: Inbox | None = None
    notes: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="nginx-triage-busy")
    )
    """Posts "busy" notes off the ack path (listeners run before the ack is sent)."""

    def submit(self, job: QueuedJob) -> bool:
        """Called by listeners before the ack: write the job to the inbox (one INSERT; a
        duplicate delivery stops here), then queue it for a worker. Never waits for room: when
        the queue is full, a job in the inbox waits there (``Inbox.defer``) and runs as workers
        free up, with one "working on it" note where the bot may speak if the wait is long.
        Only a job the inbox could not take (database down) is refused, and the user told to
        resend; False then."""
        queued: Job = job
        if self.inbox is not None:
            admitted = self.inbox.admit(job)
            if admitted is None:
                return True  # already in the inbox: a retry or duplicate delivery
            queued = admitted
        if self.runner.submit(queued):
            return True
        target = queued.busy_target
        if isinstance(queued, InboxJob) and self.inbox is not None:
            TURNS_DEFERRED.inc()
            with logging_context(**queued.describe()):
                log.info("turn queue full: the turn waits in the inbox")
            note = None if target is None else partial(self._post_note, queued, target, WORKING)
            self.inbox.defer(queued, note)
            return True
        TURNS_REJECTED.labels(reason="queue_full").inc()
        with logging_context(**queued.describe()):
            log.warning("turn queue full: turn refused", extra={"told_user": target is not None})
        if target is not None:
            self.notes.submit(self._post_note, queued, target, BUSY)
        return False

    def over_budget(self, job: Job, budget: str, what: str) -> None:
        """A budget stopped this turn (its worker was replaced): say so where the turn came from."""
        target = getattr(job, "busy_target", None)
        if target is not None:
            self.notes.submit(self._post_note, job, target, say("conversation.over_budget", what=what))

    def _post_note(self, job: Job, target: Target, text: str) -> None:
        with logging_context(**job.describe()):
            try:
                open_target(target, self.client).post(error_reply(text))
            except Exception:  # a note that cannot be posted is logged, never raised
                log.exception("could not post the note")

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Stop recovering, finish the turns in flight (up to ``timeout``), hand back to the
        inbox what did not run; False when some were cut off."""
        if self.inbox is not None:
            self.inbox.stop()
        finished = self.runner.shutdown(timeout)
        self.notes.shutdown(wait=True)
        if self.inbox is not None:
            self.inbox.close()
        return finished


def triage_of(context: BoltContext) -> TriageBot:
    """The bot a listener works for (put in ``context`` by ``bot.slack.app``'s middleware)."""
    bot = context.get(CONTEXT_KEY)
    if bot is None:
        raise LookupError(
            f'no TriageBot in the Bolt context: build the app with bot.slack.app.build_app ("{CONTEXT_KEY}")'
        )
    triage: TriageBot = bot
    return triage


def create_bot(
    settings: SlackSettings,
    *,
    store: ConversationStore | None = None,
    kb: KnowledgeBase | None = None,
    engine: Engine | None = None,
    client: WebClient | None = None,
    runner: Dispatcher | None = None,
    durable: bool | None = None,
) -> TriageBot:
    """Wire the bot; each part may be passed in.

    Without ``runner``, turns run on threads of this process (``ThreadRunner``) with the
    given or default store, KB and engine: what the tests use. ``serve`` passes a
    ``ProcessRunner`` so turns run in worker processes with parts of their own.
    With ``durable`` (default: ``settings.inbox_enabled`` for the store's backend) and a
    ``Store``, every job is written to the inbox before the ack (``bot.slack.delivery.inbox``);
    ``serve`` also starts the inbox's recovery loop.
    Nothing here talks to Slack or the database: a bot can be created with both down.
    """
    kb = kb if kb is not None else load_kb()
    client = client if client is not None else build_web_client(settings)
    store = store if store is not None else Store(settings.database_url)
    if durable is None:
        durable = settings.inbox_enabled(getattr(store, "backend", None))
    table = InboxTable(store.database) if durable and isinstance(store, Store) else None
    if runner is None:
        ctx = JobContext.build(settings, store=store, kb=kb, engine=engine, client=client, inbox=table)
        runner = ThreadRunner(ctx, settings.workers, settings.queue_size * settings.workers)
    inbox: Inbox | None = None
    if table is not None:
        inbox = Inbox(table, runner, settings)
        runner.set_finish_listener(inbox.finished)
    bot = TriageBot(settings=settings, client=client, store=store, kb=kb, runner=runner, inbox=inbox)
    runner.set_budget_listener(bot.over_budget)
    return bot
