"""What was masked, in words: ``masked 3 secrets (Cookie header, env STRIPE_KEY, basic auth in a URL)``.

Deterministic: labels in the order their secrets appear, repeats counted, the words from
``kb/texts/redaction.yaml``. People trust a redaction they can read, and know what to rotate.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.evidence.redaction.model import Masked
from bot.knowledge.texts import say

MAX_LABELS = 8
"""More kinds than this are summed up as "and N more"."""


def label(masked: Masked) -> str:
    """One masked secret in words (``Cookie header``, ``env STRIPE_KEY``)."""
    return say("redaction.label", kind=masked.kind, name=masked.name)


def labels(masked: Iterable[Masked]) -> list[str]:
    """Distinct labels in first-seen order, a repeated one with its count."""
    counts: dict[str, int] = {}
    for m in masked:
        text = label(m)
        counts[text] = counts.get(text, 0) + 1
    return [text if n == 1 else say("redaction.repeated", label=text, times=n) for text, n in counts.items()]


def summary(masked: Iterable[Masked]) -> str:
    """``masked N secrets (labels)``; empty when nothing was masked."""
    items = list(masked)
    if not items:
        return ""
    words = labels(items)
    shown, more = words[:MAX_LABELS], len(words) - MAX_LABELS
    return say("redaction.summary", count=len(items), labels=shown, more=max(more, 0))


def summary_of_keys(keys: Iterable[str]) -> str:
    """``summary`` of masked secrets carried as ``Masked.key`` strings (queued jobs, ``Incoming``)."""
    return summary(Masked.from_key(k) for k in keys)
