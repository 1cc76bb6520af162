"""Lines nothing matched, grouped by shape: the queue for growing the knowledge base.

Two lines that differ only in values (numbers, addresses, paths) are the same gap, so the
key is a hash of ``mask(line)``; the sample is the first redacted line seen of that shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.matching.masking import mask
from bot.store.schema import SAMPLE_MAX_CHARS


@dataclass(frozen=True)
class Gap:
    """One shape of unmatched line, how often it was seen, and when."""

    sample: str
    count: int
    first_seen: datetime
    last_seen: datetime
    fingerprint: str = ""


@dataclass(frozen=True)
class ShapeCount:
    """Unmatched lines of one shape within one ``record_unmatched`` call."""

    fingerprint: str
    sample: str
    count: int


def fingerprint(line: str) -> str:
    """sha256 hex of the line's shape."""
    return hashlib.sha256(mask(line).encode("utf-8")).hexdigest()


def group_lines(lines: Iterable[str]) -> list[ShapeCount]:
    """Count lines per shape, blank lines skipped, sorted by fingerprint.

    The sort gives every writer the same row-lock order, so two replicas upserting
    overlapping batches cannot deadlock on PostgreSQL.
    """
    samples: dict[str, str] = {}
    counts: dict[str, int] = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        key = fingerprint(line)
        samples.setdefault(key, line[:SAMPLE_MAX_CHARS])
        counts[key] = counts.get(key, 0) + 1
    return [ShapeCount(key, samples[key], counts[key]) for key in sorted(counts)]
