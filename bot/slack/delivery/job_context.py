"""What a job runs with: knowledge base, engine, store, inbox table and Web API client.

One per worker process, built there from the same settings as the serving process (nothing
is shared across the process boundary but the settings), or one shared by the threads of
``ThreadRunner``.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.conversation.engine import ConversationEngine
from bot.knowledge.loader import KnowledgeBase, load_kb
from bot.matching.matcher import Matcher
from bot.slack.delivery.inbox_table import InboxTable
from bot.slack.delivery.turn_handler import TurnHandler
from bot.slack.files import FileFetcher
from bot.slack.ports import ConversationStore, Engine
from bot.slack.settings import SlackSettings
from bot.slack.webclient import build_web_client
from bot.store import Store


@dataclass
class JobContext:
    """Everything a job needs. ``inbox`` is None when the store is not a ``Store`` (tests with
    a stand-in store), so inbox items cannot be run there."""

    settings: SlackSettings
    client: WebClient
    store: ConversationStore
    kb: KnowledgeBase
    turns: TurnHandler
    inbox: InboxTable | None = None

    @classmethod
    def build(
        cls,
        settings: SlackSettings,
        *,
        store: ConversationStore | None = None,
        kb: KnowledgeBase | None = None,
        engine: Engine | None = None,
        client: WebClient | None = None,
        inbox: InboxTable | None = None,
    ) -> JobContext:
        """Wire the real engine, store and Web API client from ``settings``; each may be passed in.

        Nothing here talks to Slack or the database.
        """
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
        if inbox is None and isinstance(store, Store):
            inbox = InboxTable(store.database)
        return cls(settings=settings, client=client, store=store, kb=kb, turns=turns, inbox=inbox)

    def structure_sizes(self) -> dict[str, tuple[int, int]]:
        """(items, bound) of this worker's long-lived caches (the engine's: its matcher's, the
        thread reads it keeps, the redaction memo), for /metrics."""
        sizes = getattr(getattr(self.turns, "engine", None), "structure_sizes", None)
        return dict(sizes()) if callable(sizes) else {}

    def close(self) -> None:
        """Close the store's and the inbox table's connections (worker shutdown)."""
        if self.inbox is not None:
            self.inbox.close()
        close = getattr(self.store, "close", None)
        if callable(close):
            close()
