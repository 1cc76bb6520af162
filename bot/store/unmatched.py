"""Lines nothing matched, grouped: the queue for growing the knowledge base.

A line that nginx's message catalogue recognises is grouped by that message (every
``upstream sent invalid status "..."`` is one gap, whatever the values), so ``kb gaps``
ranks the nginx messages most worth a KB entry. Other lines are grouped by shape: two lines
that differ only in values (numbers, addresses, paths) are the same gap, the key is a hash
of ``mask(line)``. The sample is the first redacted line seen of the group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.evidence.errorlog import parse_line
from bot.knowledge.catalog.lookup import CatalogMessage, load_catalog
from bot.knowledge.loader import KnowledgeBaseError
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


def catalog_message(line: str) -> CatalogMessage | None:
    """The nginx message a line is, by the bundled catalogue (None: unknown, or no catalogue)."""
    try:
        catalog = load_catalog()
    except KnowledgeBaseError:
        return None
    if catalog is None:
        return None
    return catalog.lookup(parse_line(line).message)


def fingerprint(line: str) -> str:
    """sha256 hex of the line's catalogue message, or of its shape when the catalogue does not know it."""
    known = catalog_message(line)
    key = f"catalog:{known.id}" if known is not None else mask(line)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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
