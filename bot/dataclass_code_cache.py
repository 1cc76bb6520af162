"""The code ``dataclasses`` generates for each class, compiled once per user, not at every start.

Why: ``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` (and, frozen, ``__setattr__`` and ``__delattr__``) and compiles it when the class
is created: about half a millisecond per class, and a two-line ``diagnose`` creates some 35
classes. That compiling was a fifth of the whole command. The source is the same at every
start, so its compiled code is kept, like a ``.pyc``, in the user's cache directory
(``dataclasses-*.marshal``, named after the Python and the ``dataclasses`` module it came
from).

How: ``dataclasses`` runs the source it writes through the name ``exec`` looked up in its own
module; ``install`` puts a stand-in there that looks the source up in this cache and runs the
stored code, or compiles it exactly as ``exec`` would (file name ``<string>``, the calling
frame's ``__future__`` flags) and keeps it. Anything but source text goes straight to the
real ``exec``. Nothing else in ``dataclasses`` changes, and a Python whose ``dataclasses`` no
longer calls ``exec`` simply never uses the stand-in. The file is trusted as the KB cache
beside it is (the user's own directory, created ``0700``); as every ``bot.marshal_cache``,
unreadable or damaged means empty, unwritable means not saved, and it is written once at
exit, only when it grew.
"""

from __future__ import annotations
import __future__

import sys
from pathlib import Path
from types import CodeType
from typing import Any

from bot.marshal_cache import MarshalCache

_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


class DataclassCodeCache:
    """``(flags, source) -> code``, read on first use, written at exit if it grew."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store = MarshalCache(path, (CodeType,))
        self.compiled = 0
        """Sources compiled by this process (the rest came from the file)."""

    def code(self, source: str, flags: int) -> CodeType:
        """The compiled ``source``: from the file when it is there, else compiled now."""
        key = f"{flags}\0{source}"
        stored: CodeType | None = self._store.get(key)
        if stored is not None:
            return stored
        code: CodeType = compile(source, "<string>", "exec", flags=flags, dont_inherit=True)
        self.compiled += 1
        self._store.put(key, code)
        return code

    def save(self) -> None:
        """Write the file now (it is written at exit anyway when it grew)."""
        self._store.save()


_cache: DataclassCodeCache | None = None


def default_path() -> Path:
    """The cache file for this Python and its ``dataclasses`` module."""
    import dataclasses

    from bot.hashing import blake2b
    from bot.user_cache import cache_dir

    source = Path(dataclasses.__file__)
    try:
        st = source.stat()
        stamp = f"{sys.version}\0{source}\0{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        stamp = f"{sys.version}\0{source}"
    return cache_dir() / f"dataclasses-{blake2b(stamp.encode(), digest_size=12).hexdigest()}.marshal"


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
    """``exec`` as ``dataclasses`` calls it, with compiled source kept between runs."""
    if isinstance(source, str) and _cache is not None:
        flags = sys._getframe(1).f_code.co_flags & _FUTURE_FLAGS
        source = _cache.code(source, flags)
    exec(source, globals, locals)


def install(cache: DataclassCodeCache | None = None) -> DataclassCodeCache | None:
    """Route the code ``dataclasses`` generates through ``cache`` (default: the user's file).
    Never fails: with no home directory to find a cache in, ``dataclasses`` is left alone."""
    global _cache
    import dataclasses

    if cache is None:
        try:
            cache = DataclassCodeCache(default_path())
        except Exception:  # no HOME and no passwd entry (a bare container): compile as always
            return None
    _cache = cache
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    return _cache


def uninstall() -> None:
    """``dataclasses`` compiles its source itself again (tests compare the two)."""
    global _cache
    import dataclasses

    _cache = None
    vars(dataclasses).pop("exec", None)
