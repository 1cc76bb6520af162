"""Compiled Jinja code and render trees for the KB's templates, kept between runs in the user's cache.

Jinja compiles a template to Python code (about a millisecond each); a diagnosis renders a
few dozen KB texts, so compiling them costs more than the rest of a short run. The code
objects are stored with ``marshal`` next to the compiled KB (``bot.knowledge.kb_cache``),
in one file named after everything the code depends on (Python, Jinja, the environment
settings in ``templates.py``, the tree's translator); each entry is keyed by its template's
source, so an edited text simply misses. Beside the code, each template's render tree
(``bot.knowledge.template_tree``: tuples, or None for a template only Jinja2 renders) lets
a run render without importing Jinja2 at all. Safe to delete (``bot.marshal_cache``:
unreadable means empty, unwritable means not saved).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import CodeType

from bot.marshal_cache import MarshalCache


class CodeCache(MarshalCache):
    """``key -> code object`` (or render tree, or None for "no tree") for KB templates."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, (CodeType, tuple, type(None)))


def _installed_jinja() -> Path | None:
    """Jinja2's ``__init__.py`` (which holds its version), found without importing it."""
    for entry in sys.path:
        candidate = Path(entry or ".", "jinja2", "__init__.py")
        if candidate.is_file():
            return candidate
    return None


def default_cache(*settings_files: Path) -> CodeCache:
    """The cache for templates compiled with the environments (and translated by the code)
    defined in ``settings_files``; another Python or Jinja2 install means another file."""
    from bot.hashing import blake2b
    from bot.user_cache import cache_dir

    stamp = [sys.version]
    for path in (_installed_jinja(), *settings_files):
        st = path.stat() if path is not None else None
        stamp.append(f"{path} {st.st_size} {st.st_mtime_ns}" if st else "-")
    key = blake2b("\0".join(stamp).encode(), digest_size=12).hexdigest()
    return CodeCache(cache_dir() / f"jinja-{key}.marshal")
