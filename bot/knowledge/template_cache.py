"""Compiled Jinja code and render trees for the KB's templates, kept between runs in the user's cache.

Jinja compiles a template to Python code (about a millisecond each); a diagnosis renders a
few dozen KB texts, so compiling them costs more than the rest of a short run. The code
objects are stored with ``marshal`` next to the compiled KB (``bot.knowledge.kb_cache``),
in one file named after everything the code depends on (Python, Jinja, the environment
settings in ``templates.py``, the tree's translator); each entry is keyed by its template's
source, so an edited text simply misses. Beside the code, each template's render tree
(``bot.knowledge.template_tree``: tuples, or None for a template only Jinja2 renders) lets
a run render without importing Jinja2 at all. Safe to delete; unreadable means empty;
unwritable means not saved.
"""

from __future__ import annotations

import atexit
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 20000
"""Beyond this many templates the cache stops growing (memory and file stay bounded)."""


class CodeCache:
    """``key -> code object`` (or render tree), read from disk on first use and written once
    at exit if it grew.

    Each entry is kept as its own ``marshal`` blob and unpacked when asked for: a user's
    cache grows to every template the KB has, and a run that renders a dozen of them should
    not rebuild hundreds of code objects to find them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._blobs: dict[str, bytes] | None = None
        self._values: dict[str, Any] = {}
        self._dirty = False

    def _load(self) -> dict[str, bytes]:
        if self._blobs is None:
            try:
                data = marshal.loads(self.path.read_bytes())
                ok = isinstance(data, dict) and all(isinstance(v, bytes) for v in data.values())
                self._blobs = data if ok else {}
            except (OSError, EOFError, ValueError, TypeError):
                self._blobs = {}
        return self._blobs

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._values:
            return self._values[key]
        blob = self._load().get(key)
        if blob is None:
            return default
        try:
            value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return default  # a damaged entry: made again, and replaced, by the caller
        if not isinstance(value, (CodeType, tuple, type(None))):
            return default
        self._values[key] = value
        return value

    def put(self, key: str, code: Any) -> None:
        blobs = self._load()
        if len(blobs) >= MAX_ENTRIES:
            return
        blobs[key] = marshal.dumps(code)
        self._values[key] = code
        if not self._dirty:
            self._dirty = True
            atexit.register(self.save)

    def save(self) -> None:
        """Write atomically; any OS error just leaves the cache as it was."""
        if not self._dirty or self._blobs is None:
            return
        self._dirty = False
        import tempfile  # only a run that compiled something new writes

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".jinja-", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(self._blobs))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            Path(tmp).unlink(missing_ok=True)


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
