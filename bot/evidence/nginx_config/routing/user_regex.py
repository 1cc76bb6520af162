"""Regexes the user wrote (``location ~``, ``server_name ~``), run on text the user pasted.

nginx runs them with PCRE and its backtracking limits; Python's ``re`` has none, so a
pattern such as ``^(a+)+$`` against a long request path would stall the turn. Patterns
whose cost can grow faster than the subject (a repeat or alternation inside an unbounded repeat, or
more than a few unbounded repeats in a row) are not evaluated: the route is reported as
uncertain instead, as for a pattern Python cannot read. Subjects are bounded too.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

MAX_SUBJECT = 4096
"""Longest host or path a user regex is run on (nginx's default header buffers hold 8k)."""
MAX_UNBOUNDED = 3
"""Unbounded repeats per pattern: ``^/api/(.*)/(.+)$`` has two."""
_LARGE = 64

_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_REPEATS = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT}


def _children(op: Any, av: Any) -> list[Any]:
    """Sub-patterns of one parsed node."""
    if op in _REPEATS:
        return [av[2]]
    if op is _constants.SUBPATTERN:
        return [av[3]]
    if op is _constants.BRANCH:
        return list(av[1])
    if op is _constants.ATOMIC_GROUP:
        return [av]
    if op in (_constants.ASSERT, _constants.ASSERT_NOT):
        return [av[1]]
    if op is _constants.GROUPREF_EXISTS:
        return [p for p in av[1:] if p is not None]
    return []


def _cost(pattern: Any, inside_unbounded: bool) -> int | None:
    """Unbounded repeats in ``pattern``; None when one is nested in another (super-linear)."""
    total = 0
    for op, av in pattern:
        unbounded = op in _REPEATS and (av[1] is _constants.MAXREPEAT or av[1] > _LARGE)
        if inside_unbounded and (op is _constants.BRANCH or (op in _REPEATS and av[1] != 1)):
            return None  # (a+)+, (a|aa)*: backtracking grows exponentially with the subject
        if unbounded:
            total += 1
        for child in _children(op, av):
            inner = _cost(child, inside_unbounded or unbounded)
            if inner is None:
                return None
            total += inner
    return total


def compile_user_regex(pattern: str, flags: int = 0) -> re.Pattern[str] | None:
    """``pattern`` compiled when Python reads it and its cost stays linear; None otherwise."""
    if len(pattern) > MAX_SUBJECT:
        return None
    try:
        parsed = _parser.parse(pattern, flags)
        cost = _cost(parsed, False)
        if cost is None or cost > MAX_UNBOUNDED:
            return None
        return re.compile(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None


def user_search(rx: re.Pattern[str], subject: str) -> bool | None:
    """``rx.search(subject)``; None when the subject is too long to try."""
    if len(subject) > MAX_SUBJECT:
        return None
    return rx.search(subject) is not None
