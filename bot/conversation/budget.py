"""The time one conversation turn may spend before it answers with what it has.

Every later turn of a thread re-reads all its pastes, so a slow paste would be paid again
and again; past the deadline the evidence reader stops and the answer says where.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

TURN_SECONDS = 20.0
"""Default budget of one turn's reading."""

_DEADLINE: ContextVar[float | None] = ContextVar("nginx_triage_turn_deadline", default=None)
"""The current turn's deadline, per thread of the Slack bot (one engine serves them all)."""


@contextmanager
def turn_budget(seconds: float | None) -> Iterator[None]:
    """Run one turn with a deadline ``seconds`` from now (None: no limit)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def turn_deadline() -> float | None:
    """The current turn's deadline (``time.monotonic()``), or None outside a turn."""
    return _DEADLINE.get()
