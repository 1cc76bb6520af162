"""A small on-disk cache of ``marshal``-able values (compiled code, render trees) for start-up.

Why one place: the template cache and the dataclass code cache both keep compiled code in
the user's cache directory between runs, and both must ignore a damaged file or entry, never
write half a file, stay bounded, and write only when a run added something. Each entry is
kept as its own ``marshal`` blob and unpacked when asked for: a cache grows to everything
any command has compiled, and a run that needs a few dozen entries should not rebuild
hundreds of code objects to find them.
"""

from __future__ import annotations

import atexit
import marshal
import os
from pathlib import Path
from typing import Any

MAX_ENTRIES = 20000
"""Beyond this many entries a cache stops growing (memory and file stay bounded)."""


class MarshalCache:
    """``key -> value`` (of the ``kinds`` given), read from disk on first use, written once at
    exit if it grew. Unreadable or damaged means empty; unwritable means not saved."""

    def __init__(self, path: Path, kinds: tuple[type, ...]) -> None:
        self.path = path
        self.kinds = kinds
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
        """The value stored for ``key``, or ``default`` (also for a damaged entry, which the
        caller then makes again and replaces)."""
        if key in self._values:
            return self._values[key]
        blob = self._load().get(key)
        if blob is None:
            return default
        try:
            value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return default
        if not isinstance(value, self.kinds):
            return default
        self._values[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        blobs = self._load()
        if len(blobs) >= MAX_ENTRIES:
            return
        blobs[key] = marshal.dumps(value)
        self._values[key] = value
        if not self._dirty:
            self._dirty = True
            atexit.register(self.save)

    def save(self) -> None:
        """Write atomically; any OS error just leaves the file as it was."""
        if not self._dirty or self._blobs is None:
            return
        self._dirty = False
        import tempfile  # only a run that added something writes

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}-", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(self._blobs))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            Path(tmp).unlink(missing_ok=True)
