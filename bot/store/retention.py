"""How long the bot keeps what it stored, and the job that deletes the rest.

Conversations (their redacted pastes), feedback clicks, unmatched-line samples and Slack
event ids are kept ``NGINX_TRIAGE_RETENTION_DAYS`` (default 30) after they were last
touched; ``Store.purge`` deletes older rows, ``nginx-triage store purge`` runs it by hand and
``serve`` runs ``RetentionJob`` every hour. The durable inbox prunes its own rows a day
after they are done, well inside any retention.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from bot.store.connection import StoreError

log = logging.getLogger("nginx_triage.store.retention")

RETENTION_ENV = "NGINX_TRIAGE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36_500
PURGE_EVERY_S = 3600.0
"""``serve`` purges once at start, then this often."""


def parse_retention_days(raw: str | None) -> int:
    """Days from ``NGINX_TRIAGE_RETENTION_DAYS``'s text (empty: the default); ValueError says what is wrong."""
    raw = (raw or "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"{RETENTION_ENV}={raw!r} is not a number of days between 1 and {MAX_RETENTION_DAYS} "
            f"(default {DEFAULT_RETENTION_DAYS})"
        )
    return int(raw)


def retention_days(env: Mapping[str, str] | None = None) -> int:
    """The configured retention in days."""
    return parse_retention_days((os.environ if env is None else env).get(RETENTION_ENV))


@dataclass(frozen=True)
class Purged:
    """Rows deleted by one purge, per table."""

    conversations: int = 0
    feedback: int = 0
    unmatched_lines: int = 0
    processed_events: int = 0

    @property
    def total(self) -> int:
        """Rows deleted in all tables."""
        return sum(asdict(self).values())


class Purger(Protocol):
    """What the job purges: ``Store``."""

    def purge(self, days: int) -> Purged:
        """Delete rows older than ``days`` days."""
        ...


class RetentionJob:
    """Purges every ``interval_s`` on a daemon thread until ``stop`` is set; a failure is logged
    and retried at the next round (the database may be down for a while)."""

    def __init__(self, store: Purger, days: int, stop: threading.Event, interval_s: float = PURGE_EVERY_S) -> None:
        self.store = store
        self.days = days
        self.stop = stop
        self.interval_s = interval_s
        self.rounds = 0
        self._thread: threading.Thread | None = None

    def run_once(self) -> Purged | None:
        """One purge; None when the database could not be used."""
        try:
            purged = self.store.purge(self.days)
        except StoreError as exc:
            log.warning("retention purge failed; retried in %.0f s: %s", self.interval_s, exc)
            return None
        finally:
            self.rounds += 1
        if purged.total:
            log.info("retention purge", extra={"retention_days": self.days, **asdict(purged)})
        return purged

    def start(self) -> RetentionJob:
        """Purge now, then every ``interval_s``, on a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="nginx-triage-retention", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.run_once()
            self.stop.wait(self.interval_s)
