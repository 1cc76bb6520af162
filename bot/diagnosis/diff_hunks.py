"""Unified-diff hunks whose context never shows a redacted line.

The diff is made from the redacted ``nginx -T``, but ``patch`` applies it to the real files:
a context line reading ``env STRIPE_KEY=<redacted>;`` matches nothing on disk, so patch
fails, or applies with fuzz and a warning. Context therefore stops before any line holding
the placeholder. GNU patch reads unequal leading and trailing context as "this hunk sits at
the start (or end) of the file", so a hunk whose context had to stop early on one side is
cut to the same length on the other, unless that side really is the file's start or end.
Changes separated by a redacted line become separate hunks. With nothing redacted nearby,
the hunks are what ``difflib.unified_diff(n=3)`` writes.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

CONTEXT = 3

Change = tuple[str, int, int, int, int]
"""An opcode of ``SequenceMatcher``: (tag, i1, i2, j1, j2)."""


def _range(start: int, stop: int) -> str:
    """A hunk header range as ``diff -u`` writes it (``difflib``'s convention)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def _clean_run(lines: list[str], start: int, stop: int, step: int, hidden: Callable[[str], bool]) -> int:
    """How many lines from ``start`` towards ``stop`` (exclusive, by ``step``) are shown before a hidden one."""
    count, i = 0, start
    while i != stop and count < CONTEXT and not hidden(lines[i]):
        count, i = count + 1, i + step
    return count


def _groups(changes: list[Change], old: list[str], hidden: Callable[[str], bool]) -> Iterator[list[Change]]:
    """Changes close enough (and with no hidden line between them) to share one hunk."""
    group: list[Change] = []
    for change in changes:
        if group:
            gap = range(group[-1][2], change[1])
            if len(gap) > 2 * CONTEXT or any(hidden(old[i]) for i in gap):
                yield group
                group = []
        group.append(change)
    if group:
        yield group


def _context(
    group: list[Change], old: list[str], hidden: Callable[[str], bool], bounds: tuple[int, int]
) -> tuple[int, int]:
    """(leading, trailing) context for a hunk: clean lines only, equal on both sides but at the file's ends."""
    first, last = group[0][1], group[-1][2]
    low, high = bounds
    lead = _clean_run(old, first - 1, low - 1, -1, hidden)
    trail = _clean_run(old, last, high, 1, hidden)
    at_start = first - lead == 0 and lead < CONTEXT
    at_end = last + trail == len(old) and trail < CONTEXT
    if at_start and at_end:
        return lead, trail
    if at_start:
        return min(lead, trail), trail
    if at_end:
        return lead, min(lead, trail)
    both = min(lead, trail)
    return both, both


def unified_diff(old: list[str], new: list[str], name: str, hidden: Callable[[str], bool]) -> list[str]:
    """``--- name``/``+++ name`` and the hunks turning ``old`` into ``new`` (lines with their
    newlines); no context line for which ``hidden`` is true. Empty when nothing changed."""
    opcodes = difflib.SequenceMatcher(None, old, new).get_opcodes()  # as ``difflib.unified_diff`` matches
    changes: list[Change] = [op for op in opcodes if op[0] != "equal"]
    if not changes:
        return []
    out = [f"--- {name}\n", f"+++ {name}\n"]
    previous_end = 0
    for group in _groups(changes, old, hidden):
        lead, trail = _context(group, old, hidden, (previous_end, len(old)))
        i1, i2 = group[0][1] - lead, group[-1][2] + trail
        j1, j2 = group[0][3] - lead, group[-1][4] + trail
        out.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        out += [" " + line for line in old[i1 : group[0][1]]]
        for n, (tag, a1, a2, b1, b2) in enumerate(group):
            if n:
                out += [" " + line for line in old[group[n - 1][2] : a1]]
            if tag in ("replace", "delete"):
                out += ["-" + line for line in old[a1:a2]]
            if tag in ("replace", "insert"):
                out += ["+" + line for line in new[b1:b2]]
        out += [" " + line for line in old[group[-1][2] : i2]]
        previous_end = group[-1][2]
    return out
