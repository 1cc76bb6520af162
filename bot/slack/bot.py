"""The bot's parts in the acking process, built once and shared by every listener."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.knowledge.loader import KnowledgeBase
from bot.slack.inbox import Inbox, InboxJob
from bot.slack.jobs import Job, JobContext, Target
from bot.slack.logs import logging_context
from bot.slack.metrics import TURNS_REJECTED
from bot.slack.pool import Dispatcher, InProcessRunner
from bot.slack.ports import ConversationStore, Engine
from bot.slack.settings import SlackSettings
from bot.slack.turns import error_reply
from bot.slack.webclient import build_web_client

log = logging.getLogger("nginx_triage.slack")

BUSY = "I'm swamped right now and could not take this on. Nothing was saved from it: send it again in a minute."


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

    def submit(self, job: Job) -> bool:
        """Called by listeners before the ack: write the job to the inbox (one INSERT; a
        duplicate delivery stops here), then queue it for a worker. Never waits for room:
        when the queue is full the job is refused, counted, logged, and the user told to
        resend where the bot may speak (the note is posted off the ack path)."""
        if self.inbox is not None:
            admitted = self.inbox.admit(job)
            if admitted is None:
                return True  # already in the inbox: a retry or duplicate delivery
            job = admitted
        if self.runner.submit(job):
            return True
        TURNS_REJECTED.labels(reason="queue_full").inc()
        with logging_context(**job.describe()):
            log.warning("turn queue full: turn refused", extra={"told_user": job.busy_target is not None})
        if isinstance(job, InboxJob) and self.inbox is not None:
            self.inbox.refused(job)
        target = job.busy_target
        if target is not None:
            self.notes.submit(self._post_busy, job, target)
        return False

    def _post_busy(self, job: Job, target: Target) -> None:
        with logging_context(**job.describe()):
            try:
                target.open(self.client).post(error_reply(BUSY))
            except Exception:  # a note that cannot be posted is logged, never raised
                log.exception("could not post the busy note")

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

    Without ``runner``, turns run on threads of this process (``InProcessRunner``) with the
    given or default store, KB and engine: what the tests use. ``serve`` passes a
    ``ProcessRunner`` so turns run in worker processes with parts of their own.
    With ``durable`` (default: ``settings.inbox_enabled`` for the store's backend) and a
    ``Store``, every job is written to the inbox before the ack (``bot.slack.inbox``);
    ``serve`` also starts the inbox's recovery loop.
    Nothing here talks to Slack or the database: a bot can be created with both down.
    """
    from bot.knowledge.loader import load_kb
    from bot.store import Store

    kb = kb if kb is not None else load_kb()
    client = client if client is not None else build_web_client(settings)
    store = store if store is not None else Store(settings.database_url)
    if runner is None:
        ctx = JobContext.build(settings, store=store, kb=kb, engine=engine, client=client)
        runner = InProcessRunner(ctx, settings.workers, settings.queue_size * settings.workers)
    inbox: Inbox | None = None
    if durable is None:
        durable = settings.inbox_enabled(getattr(store, "backend", None))
    if durable and isinstance(store, Store):
        inbox = Inbox(store, runner, settings)
        runner.set_finish_listener(inbox.finished)
    return TriageBot(settings=settings, client=client, store=store, kb=kb, runner=runner, inbox=inbox)
