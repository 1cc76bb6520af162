"""What a redaction is: spans of the paste to mask, what each one was (kind and name, never the
value), and the one pass that applies them.

Every detector reports spans on the same original text; ``apply_spans`` merges overlaps and
replaces each span with the fixed placeholder in one left-to-right pass, so the cost is
linear and no detector ever sees another's output. A span is replaced line by line: the
placeholder never swallows a newline, so line numbers (and every ``file:line`` the diagnosis
names) stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.evidence.redaction.entropy import looks_random
from bot.lazy_re import lazy_compile

REDACTED = "<redacted>"
"""The placeholder: a valid bare nginx token (no space, quote, ``;``, brace, ``$`` or ``#``), so a
redacted dump still parses to the same directives, quoted or not."""

_NAME_OK = lazy_compile(r"[A-Za-z0-9_.$-]{1,48}")
_ALNUM = lazy_compile(r"[A-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class Masked:
    """One masked secret: what kind of thing it was and the name it went by (a header, a
    variable, a query parameter), never its value."""

    kind: str
    name: str = ""

    @property
    def key(self) -> str:
        """``kind:name``: the plain-string form that travels in queued jobs and ``Incoming``."""
        return f"{self.kind}:{self.name}" if self.name else self.kind

    @classmethod
    def from_key(cls, key: str) -> Masked:
        """Inverse of ``key``."""
        kind, _, name = key.partition(":")
        return cls(kind, name)


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` is secret; ``kind`` and ``name`` say what it was."""

    start: int
    end: int
    kind: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Redaction:
    """The redacted text and what was masked in it, in text order."""

    text: str
    masked: tuple[Masked, ...] = ()

    @property
    def count(self) -> int:
        """How many secrets were masked."""
        return len(self.masked)

    @property
    def keys(self) -> tuple[str, ...]:
        """``Masked.key`` of each masked secret, in order."""
        return tuple(m.key for m in self.masked)


@lru_cache(maxsize=4096)
def safe_name(name: str) -> str:
    """A name fit to show: identifier characters only, short; anything else is dropped.

    Names come from the paste (``env NAME=...``); one that is not a plain identifier, or is
    as long as a token, could itself be a secret, so it is not repeated.
    """
    name = name.strip().strip("\"'")
    if not _NAME_OK.fullmatch(name):
        return ""
    return "" if looks_random(name) else name


def _is_placeholder_only(segment: str) -> bool:
    """Nothing left to mask: only placeholders, spaces and punctuation (redacting twice is a no-op)."""
    return not _ALNUM.search(segment.replace(REDACTED, ""))


def _inside_placeholder(text: str, span: Span) -> bool:
    """A span that only covers part of a placeholder (``<redacted`` matched by a pattern that stops at ``>``)."""
    at = text.find(REDACTED, max(0, span.start - len(REDACTED)), span.end + len(REDACTED))
    return at >= 0 and at <= span.start and span.end <= at + len(REDACTED)


def _replacement(segment: str) -> str:
    """The placeholder for ``segment``, once per line it spans; blank lines stay blank."""
    if "\n" not in segment:
        return REDACTED
    return "\n".join(REDACTED if piece.strip() else piece for piece in segment.split("\n"))


def apply_spans(text: str, spans: Iterable[Span]) -> Redaction:
    """Replace every span (overlapping ones merged, the first one's kind kept) in one pass."""
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in ordered:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Span(last.start, span.end, last.kind, last.name)
            continue
        merged.append(span)
    out: list[str] = []
    masked: list[Masked] = []
    pos = 0
    for span in merged:
        segment = text[span.start : span.end]
        if _is_placeholder_only(segment) or _inside_placeholder(text, span):
            continue
        out.append(text[pos : span.start])
        out.append(_replacement(segment))
        masked.append(Masked(span.kind, safe_name(span.name)))
        pos = span.end
    out.append(text[pos:])
    return Redaction("".join(out), tuple(masked))
