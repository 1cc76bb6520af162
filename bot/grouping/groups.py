"""Group matched lines by KB entry: counts, time span, workers, top upstreams and clients.

A million-line log collapses to a few dozen groups. Every per-group tally is bounded
(``MAX_DISTINCT``) so memory stays flat however long the log is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.evidence.errorlog import LogLine
from bot.matching.matcher import Match, Matcher

MAX_DISTINCT = 2000
"""Distinct values kept per tally; later new values only count towards ``other``."""

TALLIED = ("upstream", "client", "server", "host", "worker_connections", "zone", "path")


class BoundedCounter:
    """A Counter that stops adding new keys past a limit, counting them as ``other``."""

    __slots__ = ("counts", "limit", "other")

    def __init__(self, limit: int = MAX_DISTINCT) -> None:
        self.counts: Counter[str] = Counter()
        self.limit = limit
        self.other = 0

    def add(self, key: str) -> None:
        """Count one occurrence of ``key``."""
        counts = self.counts
        if key in counts or len(counts) < self.limit:
            counts[key] += 1
        else:
            self.other += 1

    def merge(self, other: BoundedCounter) -> None:
        """Add another counter's counts, keeping the bound."""
        for key, n in other.counts.items():
            if key in self.counts or len(self.counts) < self.limit:
                self.counts[key] += n
            else:
                self.other += n
        self.other += other.other

    def top(self, n: int = 5) -> list[tuple[str, int]]:
        """The ``n`` most common values with their counts."""
        return self.counts.most_common(n)


@dataclass
class MatchGroup:
    """Everything known about the lines that matched one KB entry."""

    kb_id: str
    count: int = 0
    fuzzy: int = 0
    first_time: str | None = None
    last_time: str | None = None
    levels: Counter[str] = field(default_factory=Counter)
    pids: BoundedCounter = field(default_factory=BoundedCounter)
    tallies: dict[str, BoundedCounter] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    def add(self, line: LogLine, match: Match) -> None:
        """Fold one matched line into the group."""
        self.count += 1
        if match.method != "regex":
            self.fuzzy += 1
        t = line.time
        if t is not None:
            # nginx times are zero-padded YYYY/MM/DD HH:MM:SS: string order is time order.
            if self.first_time is None or t < self.first_time:
                self.first_time = t
            if self.last_time is None or t > self.last_time:
                self.last_time = t
        if line.level:
            self.levels[line.level] += 1
        if line.pid is not None:
            self.pids.add(str(line.pid))
        facts = match.facts
        for key in TALLIED:
            value = facts.get(key)
            if value:
                tally = self.tallies.get(key)
                if tally is None:
                    tally = self.tallies[key] = BoundedCounter()
                tally.add(value)
        if not self.facts:
            self.facts = dict(facts)
        if len(self.samples) < 3:
            self.samples.append(line.raw)

    def merge(self, other: MatchGroup) -> None:
        """Fold in the group of a later part of the same log."""
        self.count += other.count
        self.fuzzy += other.fuzzy
        for t in (other.first_time, other.last_time):
            if t is not None:
                if self.first_time is None or t < self.first_time:
                    self.first_time = t
                if self.last_time is None or t > self.last_time:
                    self.last_time = t
        self.levels.update(other.levels)
        self.pids.merge(other.pids)
        for key, tally in other.tallies.items():
            self.tallies.setdefault(key, BoundedCounter()).merge(tally)
        if not self.facts:
            self.facts = dict(other.facts)
        self.samples.extend(other.samples[: max(0, 3 - len(self.samples))])

    def summary_facts(self) -> dict[str, str]:
        """The first line's facts, with tallied facts replaced by their most common value."""
        out = {k: v for k, v in self.facts.items() if k not in ("time", "cid")}
        for key, tally in self.tallies.items():
            top = tally.top(1)
            if top:
                out[key] = top[0][0]
        return out


class Grouper:
    """Accumulates matches into groups and counts what matched nothing."""

    def __init__(self) -> None:
        self.groups: dict[str, MatchGroup] = {}
        self.unmatched = 0
        self.unmatched_samples: list[str] = []
        self.lines = 0

    def merge(self, other: Grouper) -> None:
        """Fold in the result of a later part of the same log."""
        self.lines += other.lines
        self.unmatched += other.unmatched
        room = 20 - len(self.unmatched_samples)
        self.unmatched_samples.extend(other.unmatched_samples[: max(0, room)])
        for kb_id, group in other.groups.items():
            if kb_id in self.groups:
                self.groups[kb_id].merge(group)
            else:
                self.groups[kb_id] = group

    def add(self, line: LogLine, match: Match | None) -> None:
        """Fold one line, matched or not."""
        self.lines += 1
        if match is None:
            if line.raw.strip():
                self.unmatched += 1
                if len(self.unmatched_samples) < 20:
                    self.unmatched_samples.append(line.raw)
            return
        group = self.groups.get(match.kb_id)
        if group is None:
            group = self.groups[match.kb_id] = MatchGroup(match.kb_id)
        group.add(line, match)


def group_lines(lines: Iterable[str], matcher: Matcher) -> Grouper:
    """Parse, match and group every line; the loop every diagnosis starts with."""
    grouper = Grouper()
    add = grouper.add
    for line, match in matcher.match_lines(lines):
        add(line, match)
    return grouper
