"""The bot's parts in the acking process, built once and shared by every listener."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.knowledge.loader import KnowledgeBase
from bot.slack.jobs import Job, JobContext
from bot.slack.logs import logging_context
from bot.slack.metrics import TURNS_REJECTED
from bot.slack.pool import Dispatcher, InProcessRunner
from bot.slack.ports import ConversationStore, Engine
from bot.slack.settings import SlackSettings
from bot.slack.turns import error_reply
from bot.slack.webclient import build_web_client

log = logging.getLogger("nginx_triage.slack")

BUSY = ("I'm swamped right now and could not take this on. Nothing was saved from it: "
        "send it again in a minute.")


@dataclass
class TriageBot:
    """Settings, Web API client, store, knowledge base and where jobs run (``runner``)."""

    settings: SlackSettings
    client: WebClient
    store: ConversationStore
    kb: KnowledgeBase
    runner: Dispatcher

    def submit(self, job: Job) -> bool:
        """Queue work for after the ack. Never blocks: when the queue is full the job is refused,
        counted, logged, and the user told to resend where the bot may speak."""
        if self.runner.submit(job):
            return True
        TURNS_REJECTED.labels(reason="queue_full").inc()
        with logging_context(**job.describe()):
            log.warning("turn queue full: turn refused", extra={"told_user": job.busy_target is not None})
            target = job.busy_target
            if target is not None:
                target.open(self.client).post(error_reply(BUSY))
        return False

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Finish the turns in flight (up to ``timeout``); False when some were cut off."""
        return self.runner.shutdown(timeout)


def create_bot(
    settings: SlackSettings,
    *,
    store: ConversationStore | None = None,
    kb: KnowledgeBase | None = None,
    engine: Engine | None = None,
    client: WebClient | None = None,
    runner: Dispatcher | None = None,
) -> TriageBot:
    """Wire the bot; each part may be passed in.

    Without ``runner``, turns run on threads of this process (``InProcessRunner``) with the
    given or default store, KB and engine: what the tests use. ``serve`` passes a
    ``ProcessRunner`` so turns run in worker processes with parts of their own.
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
    return TriageBot(settings=settings, client=client, store=store, kb=kb, runner=runner)
