"""Fit a reply into one Slack message: drop what may go to a file, say what went, never cut silently.

When the blocks would break a message limit (50 blocks, ~11,000 characters of block text),
items are dropped in the order their ``drop`` rank says (higher first, later first; 0 =
never), a one-line ``alt`` stands in for each dropped item that has one, the complete reply
goes into ``details.md`` and the message says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.render.layout import expand, mrkdwn, split_text
from bot.render.slack_limits import MAX_BLOCKS, MAX_TOTAL_TEXT, text_length

DETAILS_FILENAME = "details.md"
_BUTTON_BLOCKS = ("actions", "context_actions")
"""Blocks of buttons: the notice of what went to the file goes above the first of them."""


@dataclass
class _Item:
    blocks: list[dict[str, Any]]
    drop: int
    label: str
    alt: str | None
    kept: int = -1  # blocks kept; -1 = all

    @property
    def shown(self) -> list[dict[str, Any]]:
        return self.blocks if self.kept < 0 else self.blocks[: self.kept]

    @property
    def whole(self) -> bool:
        return self.kept < 0 or self.kept == len(self.blocks)


def _notice_blocks(left_out: list[str]) -> list[dict[str, Any]]:
    labels = ", ".join(dict.fromkeys(left_out))
    text = (
        f":page_facing_up: Not everything fits in one Slack message: full details attached as a file, "
        f"`{DETAILS_FILENAME}`" + (f" (left out here: {labels})." if labels else ".")
    )
    return [{"type": "context", "elements": [mrkdwn(text)]}]


def _alt_blocks(alts: list[str], budget: int | None) -> list[dict[str, Any]]:
    """The one-line stand-ins for dropped items; all of them unless a text budget is given."""
    if not alts:
        return []
    lines = ["*Also found* (in full in the attached file):"]
    used = len(lines[0])
    for i, alt in enumerate(alts):
        if budget is not None and used + len(alt) + 1 > budget:
            lines.append(f"…and {len(alts) - i} more, listed in `{DETAILS_FILENAME}`.")
            break
        lines.append(alt)
        used += len(alt) + 1
    return [{"type": "section", "text": mrkdwn(chunk)} for chunk in split_text("\n".join(lines))]


def _assemble(items: list[_Item], alt_budget: int | None) -> list[dict[str, Any]]:
    """Kept blocks in order; dropped items' alts at the first dropped item; the notice before buttons."""
    out: list[dict[str, Any]] = []
    alts = [it.alt for it in items if not it.whole and it.alt]
    alt_at = next((i for i, it in enumerate(items) if not it.whole and it.alt), None)
    left_out = [(f"the rest of {it.label}" if it.kept > 0 else it.label) for it in items if not it.whole and not it.alt]
    if alt_at is not None:
        left_out.insert(0, f"{items[alt_at].label}: {len(alts)} shown in one line each")
    for i, it in enumerate(items):
        if i == alt_at:
            out += _alt_blocks(alts, alt_budget)
        out += it.shown
    if any(not it.whole for it in items):
        at = next((i for i, b in enumerate(out) if b["type"] in _BUTTON_BLOCKS), len(out))
        # The feedback element sits under its own context line: the notice goes above both.
        if at > 0 and out[at - 1]["type"] == "context" and at == len(out) - 1:
            at -= 1
        out[at:at] = _notice_blocks(left_out)
    return out


def _fits(blocks: list[dict[str, Any]]) -> bool:
    return len(blocks) <= MAX_BLOCKS and text_length(blocks) <= MAX_TOTAL_TEXT


def fit_items(layout: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Blocks within the message limits, and whether anything was left out (goes to a file)."""
    items = [
        _Item(expand(it), int(it.get("drop", 0)), str(it.get("label") or it["type"]), it.get("alt")) for it in layout
    ]
    items = [it for it in items if it.blocks]
    fixed = sum(text_length(it.blocks) for it in items if it.drop == 0)
    while True:
        # The one-line list of dropped items is the overview: it stays whole while
        # anything else can still leave the message.
        blocks = _assemble(items, None)
        if _fits(blocks):
            return blocks, any(not it.whole for it in items)
        candidates = [(it.drop, i) for i, it in enumerate(items) if it.drop > 0 and it.kept != 0]
        if not candidates:
            break
        _, i = max(candidates)
        it = items[i]
        # A long text item loses its trailing sections one by one; others go whole.
        if it.alt is None and len(it.blocks) > 1 and all(b["type"] == "section" for b in it.blocks):
            it.kept = (len(it.blocks) if it.kept < 0 else it.kept) - 1
        else:
            it.kept = 0
    kept_text = sum(text_length(it.shown) for it in items)
    blocks = _assemble(items, max(200, MAX_TOTAL_TEXT - kept_text - 600))
    if _fits(blocks):
        return blocks, True
    raise ValueError(
        f"reply cannot fit one Slack message: {len(blocks)} blocks, "
        f"{text_length(blocks)} chars of which {fixed} may not move to a file"
    )
