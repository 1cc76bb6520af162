"""The bot's parts, built once per process and shared by every listener."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.knowledge.loader import KnowledgeBase, load_kb
from bot.slack.files import FileFetcher
from bot.slack.ports import ConversationStore, Engine
from bot.slack.settings import SlackSettings
from bot.slack.turns import TurnRunner
from bot.slack.webclient import build_web_client

log = logging.getLogger("nginx_triage.slack")


@dataclass
class TriageBot:
    """Settings, Web API client, store, knowledge base and the turn runner."""

    settings: SlackSettings
    client: WebClient
    store: ConversationStore
    kb: KnowledgeBase
    runner: TurnRunner

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
) -> TriageBot:
    """Wire the real engine, store and Web API client; each may be passed in instead.

    Nothing here talks to Slack or the database: a bot can be created with both down.
    """
    from bot.conversation.engine import ConversationEngine
    from bot.matching.matcher import Matcher
    from bot.store import Store

    kb = kb if kb is not None else load_kb()
    client = client if client is not None else build_web_client(settings)
    store = store if store is not None else Store(settings.database_url)
    engine = engine if engine is not None else ConversationEngine(
        kb, Matcher(kb), max_paste_bytes=settings.max_file_bytes, max_thread_bytes=4 * settings.max_file_bytes
    )
    runner = TurnRunner(settings, store, engine, FileFetcher(settings, client))
    return TriageBot(settings=settings, client=client, store=store, kb=kb, runner=runner)
