"""One cache file format for what start-up can skip rebuilding (the compiled KB, the FAQ index).

Why one place: both caches live in the user's cache directory, must never be read when they
are stale, broken or foreign, must be written atomically (a reader never sees half a file) and
must not pile up. Each file holds ``(magic, key, value)``; a mismatch is a miss, never an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

try:  # the C unpickler pickle.load is anyway; pickle.py (~1 ms at start-up) only for writing
    from _pickle import load as _load
except ImportError:  # pragma: no cover - a Python without the accelerator
    from pickle import load as _load

T = TypeVar("T")


def read_cached(path: Path, magic: bytes, key: str, kind: type[T]) -> T | None:
    """The cached value, or None when the file is missing, broken, foreign or not for ``key``."""
    try:
        with path.open("rb") as f:
            stored_magic, stored_key, value = _load(f)
    except Exception:  # a truncated, foreign or corrupt file: rebuild it
        return None
    if stored_magic != magic or stored_key != key or not isinstance(value, kind):
        return None
    return value


def write_cached(path: Path, magic: bytes, key: str, value: object, *, keep: int) -> None:
    """Store atomically (temporary file + rename), then keep only the ``keep`` newest files of the
    same kind (same name prefix before the first ``-``); any OS error just skips caching."""
    import pickle
    import tempfile  # only a miss writes; a start-up that reads the cache never needs them

    prefix = path.name.split("-", 1)[0]
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{prefix}-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((magic, key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        return
    try:
        files = sorted(path.parent.glob(f"{prefix}-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in [f for f in files if f != path][keep - 1 :]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
