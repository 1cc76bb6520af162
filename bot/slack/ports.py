"""What the Slack front door needs from the engine and the store (structural types)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from bot.conversation.model import ConversationState, Incoming, Reply

T = TypeVar("T")


class Engine(Protocol):
    """The pure conversation engine (``bot.conversation.engine.ConversationEngine``)."""

    def handle(self, state: ConversationState | None, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        """Next state and the replies for one user action."""
        ...


class ConversationStore(Protocol):
    """The subset of ``bot.store.Store`` the bot uses."""

    def ping(self) -> bool:
        """True when the database answers."""
        ...

    def claim_event(self, event_id: str) -> bool:
        """True exactly once per event id across replicas."""
        ...

    def update(self, thread: str, fn: Callable[[ConversationState | None], tuple[ConversationState, T]]) -> T:
        """Atomic read-modify-write of one thread's state."""
        ...

    def load(self, thread: str) -> ConversationState | None:
        """The stored state of a thread, or None."""
        ...

    def record_feedback(self, thread: str, user: str, value: str, comment: str | None = None) -> None:
        """Store one feedback click."""
        ...

    def record_unmatched(self, lines: Iterable[str]) -> None:
        """Count redacted lines nothing matched."""
        ...
