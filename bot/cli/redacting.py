"""The command line's intake redaction: what it reads is redacted before anything is printed.

Text read whole (every input up to 32 MB: logs, ``nginx -T``, limits, any mix) goes through
``redact_intake`` before it is sniffed, so the diagnosis, the diff's context and every
format only ever see the redacted text. A bigger log is streamed through the matcher (the
multi-GB path, partly in C) and never held; what the grouper keeps of it (sample lines,
facts such as the request line, the upstream tally) is redacted as soon as the stream ends,
before any output. ``--no-redact`` turns all of it off for people who need the values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from bot.diagnosis.collect import Collected
from bot.evidence.redaction import Masked, redact_intake
from bot.evidence.redaction.summary import labels, summary
from bot.knowledge.texts import say

TALLIES_WITH_URLS = ("upstream", "path", "host")
LINES_PER_BLOCK = 4096
"""``match`` redacts its stream in blocks of lines, so a secret spread over lines (a key, a
``map``, a file after ``cat``) is seen whole, and memory stays bounded."""
"""Grouper tallies whose values can carry a query string or userinfo."""


class IntakeRedaction:
    """Redacts what the CLI reads and remembers what it masked (kinds and names only)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.masked: list[Masked] = []
        self.streamed = False
        """Some input was streamed past the redaction (a big log): ``kept`` must clean what it left."""

    def text(self, text: str) -> str:
        """``text`` redacted (as is with ``--no-redact``); what was masked is counted."""
        if not self.enabled:
            return text
        result = redact_intake(text)
        self.masked.extend(result.masked)
        return result.text

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        """The lines, redacted a block at a time (one line in, one line out)."""
        source = iter(lines)
        while block := list(islice(source, LINES_PER_BLOCK)):
            if not self.enabled:
                yield from block
                continue
            cleaned = self.text("\n".join(block)).split("\n")
            yield from cleaned if len(cleaned) == len(block) else block

    def _quiet(self, text: str) -> str:
        """Redacted without counting: a fact or tally value repeats a line already counted."""
        return redact_intake(text).text if self.enabled else text

    def kept(self, ev: Collected) -> None:
        """Redact what a streamed log left in the bundle: samples (counted), facts, URL tallies, env lines."""
        if not self.enabled or not self.streamed:
            return
        grouper = ev.grouper
        for group in grouper.groups.values():
            group.samples = [self.text(s) for s in group.samples]
            group.facts = {k: self._quiet(v) for k, v in group.facts.items()}
            for key in TALLIES_WITH_URLS:
                tally = group.tallies.get(key)
                if tally is not None:
                    counts: Counter[str] = Counter()
                    for value, n in tally.counts.items():
                        counts[self._quiet(value)] += n
                    tally.counts = counts
        grouper.unmatched_samples = [self.text(s) for s in grouper.unmatched_samples]
        ev.env_text = [self._quiet(t) for t in ev.env_text]

    def summary(self) -> str:
        """``masked N secrets (...)``, empty when nothing was masked."""
        return summary(self.masked)

    def note(self) -> str:
        """The stderr note for text, Markdown and diff output; empty when nothing was masked."""
        return say("redaction.cli_note", summary=self.summary()) if self.masked else ""

    def to_json(self) -> dict[str, Any]:
        """The ``redacted`` field of ``diagnose --format json``."""
        return {
            "enabled": self.enabled,
            "count": len(self.masked),
            "summary": self.summary(),
            "kinds": labels(self.masked),
            "masked": [{"kind": m.kind, "name": m.name} for m in self.masked],
        }
