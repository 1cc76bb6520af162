"""What every finding check may read, and the shape of what it returns.

A check answers one question with facts, never words: the words are the finding's
``message`` template in ``kb/findings/<id>.yaml``. The KB entries a check reads come from
that file's ``reads`` slots, so no error id is spelled in a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.diagnosis.collect import Collected
from bot.grouping import MatchGroup
from bot.sizing import Recommendation as SizingRecommendation

Facts = dict[str, Any]
"""The values a finding's message and evidence templates name."""


@dataclass(frozen=True)
class CheckContext:
    """The evidence, the sizing result, and the KB entries each ``reads`` slot names."""

    ev: Collected
    rec: SizingRecommendation | None
    reads: Mapping[str, Sequence[str]]

    def groups(self, slot: str) -> list[MatchGroup]:
        """The matched line groups of the slot's entries, in the order the YAML lists them."""
        groups = self.ev.grouper.groups
        return [groups[kb_id] for kb_id in self.reads[slot] if kb_id in groups]

    def count(self, slot: str) -> int:
        """Lines matched by the slot's entries."""
        return sum(g.count for g in self.groups(slot))

    def samples(self, slot: str) -> list[str]:
        """One sample line of the slot's first matched entry (the evidence a finding quotes)."""
        found = self.groups(slot)
        return found[0].samples[:1] if found else []


Check = Callable[[CheckContext], Facts | None]
"""A finding's detection: the facts for its message when it fires, else None."""
