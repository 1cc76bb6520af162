"""Module-level regular expressions compiled on first use.

Why: ``re.compile`` runs the regex parser in Python, about a third of a millisecond per
pattern. The evidence parsers, redaction rules and answer builders hold some 250 of them at
module level, and a two-line ``diagnose`` imports most of those modules but uses about 45
of the patterns: compiling the rest cost it tens of milliseconds at every start.

``lazy_compile`` returns a stand-in with the ``re.Pattern`` methods; the first call
compiles the pattern, and each method is then kept on the stand-in itself, so later calls
cost one ordinary attribute lookup. A stand-in cannot be passed to the ``re`` module's
functions (``re.sub(PATTERN, ...)``) or checked with ``isinstance(x, re.Pattern)``: call
its methods, or use ``.compiled``.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

_METHODS = frozenset({"match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split", "scanner"})


class _LazyPattern:
    """A pattern compiled the first time anything asks for one of its attributes."""

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._source = pattern
        self._flags = flags

    @property
    def compiled(self) -> re.Pattern[Any]:
        """The compiled pattern (compiled now if it was not yet)."""
        found: re.Pattern[Any] | None = self.__dict__.get("_compiled")
        if found is None:
            found = re.compile(self._source, self._flags)
            self.__dict__["_compiled"] = found
        return found

    def __getattr__(self, name: str) -> Any:
        # only reached for names not yet on the instance: the first use of each method
        value = getattr(self.compiled, name)
        if name in _METHODS:
            self.__dict__[name] = value  # the bound method of the compiled pattern, from now on
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._source!r}, {self._flags!r})"

    def __reduce__(self) -> tuple[Any, tuple[str | bytes, int]]:
        return (_LazyPattern, (self._source, self._flags))


def lazy_compile(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, deferred until the pattern is first used."""
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, int(flags)))


def compiled_pattern(value: object) -> re.Pattern[Any] | None:
    """The compiled pattern behind ``value`` (a stand-in or a ``re.Pattern``), else None: for
    code that scans modules for their patterns, such as the regex robustness test."""
    if isinstance(value, _LazyPattern):
        return value.compiled
    return value if isinstance(value, re.Pattern) else None
