"""The project's own Jinja2 filters, kept apart so rendering from a tree needs no Jinja2.

``bot.knowledge.templates`` registers them in its Jinja2 environments and
``bot.knowledge.template_tree`` calls them directly: one definition, both renderers.
"""

from __future__ import annotations

from typing import Any


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 line``, ``3 lines`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def fmt(value: Any, spec: str) -> str:
    """Python's ``format(value, spec)``: ``g``, ``.0%``, ``.2f``, ``,``."""
    return format(value, spec)
