"""The App Home tab: what the bot does, how to reach it, and everything it knows.

Published with ``views.publish`` on ``app_home_opened``. It is built from the loaded KB,
so adding an error or FAQ file shows up here with no code change. Layout is in
``templates/blocks/home.json.j2``; limits are the view's (100 blocks), not a message's.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.build import SEVERITY_ORDER
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import ErrorEntry
from bot.render.layout import expand, render_items
from bot.render.slack_limits import MAX_VIEW_BLOCKS, validate_blocks


def _by_severity(kb: KnowledgeBase) -> list[tuple[str, list[ErrorEntry]]]:
    """Errors grouped by severity, most severe first, titles sorted inside a group."""
    groups: dict[str, list[ErrorEntry]] = {}
    for entry in kb.errors.values():
        groups.setdefault(entry.severity, []).append(entry)
    order = sorted(groups, key=lambda s: SEVERITY_ORDER.get(s, len(SEVERITY_ORDER)))
    return [(s, sorted(groups[s], key=lambda e: e.title.lower())) for s in order]


def _blocks(kb: KnowledgeBase, stats: dict[str, Any] | None, compact: bool) -> list[dict[str, Any]]:
    items = render_items(
        "blocks/home.json.j2",
        errors=list(kb.errors.values()),
        by_severity=_by_severity(kb),
        faqs=sorted(kb.faqs.values(), key=lambda f: f.question.lower()),
        stats=stats or {},
        compact=compact,
    )
    return [block for item in items for block in expand(item)]


def home_view(kb: KnowledgeBase, stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``views.publish`` payload for the Home tab (at most 100 blocks).

    ``stats`` (e.g. ``{"conversations": 12}``) shows as fields when given. A KB too large
    to list by title falls back to ids, so the view never breaks the limit.
    """
    blocks = _blocks(kb, stats, compact=False)
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = _blocks(kb, stats, compact=True)
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise ValueError(f"home view needs {len(blocks)} blocks even compact; Slack allows {MAX_VIEW_BLOCKS}")
    return {"type": "home", "blocks": blocks}


def validate_view(view: dict[str, Any]) -> list[str]:
    """Limit violations in a Home tab view (empty when ``views.publish`` will accept it)."""
    problems = [] if view.get("type") == "home" else [f"type: {view.get('type')!r}, expected 'home'"]
    return problems + validate_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS, max_text=None)
