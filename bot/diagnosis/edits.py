"""A directive edit, and the name a diff header gives a file: what the fix plan carries.

Apart from ``config_diff`` because every diagnosis builds a plan while only a pasted
``nginx -T`` gets a diff: the diff machinery (``difflib``, ``shlex``, the configuration
model) is imported when one is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """Set ``directive`` to ``new_args`` in ``file`` (at ``line`` when it already exists there)."""

    file: str
    line: int | None
    directive: str
    new_args: tuple[str, ...]
    context_block: str | None = None
    """Block the directive belongs in (``events``, ``http``); None for the main context."""
    why: str = ""
    block_at: tuple[str, int] | None = None
    """(file, line) of the very block a new directive goes into (the ``location`` that handled a request)."""


def header_path(path: str) -> str:
    """The name a diff header uses for ``path``: relative to ``/`` (see ``config_diff``'s docstring)."""
    return path.lstrip("/") if os.path.isabs(path) else path
