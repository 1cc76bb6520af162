"""Filters and tests for KB templates, kept apart so rendering from a tree needs no Jinja2.

The project's own filters (``plural``, ``fmt``) are registered in the Jinja2 environments by
``bot.knowledge.templates`` and called directly by ``bot.knowledge.template_tree``: one
definition, both renderers. The Jinja2 built-ins the tree renders are written here as Jinja2
3.1 defines them (``int``'s float quirk, ``round``'s methods, ``replace``'s count), and the
tests in ``tests/unit/test_template_tree.py`` hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 line``, ``3 lines`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def fmt(value: Any, spec: str) -> str:
    """Python's ``format(value, spec)``: ``g``, ``.0%``, ``.2f``, ``,``."""
    return format(value, spec)


def soft_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def attribute_parts(attribute: Any) -> list[Any]:
    """Jinja2's ``make_attrgetter`` path: ``a.0.b`` is ``a``, item 0, ``b``."""
    if attribute is None:
        return []
    if isinstance(attribute, str):
        return [int(part) if part.isdigit() else part for part in attribute.split(".")]
    return [attribute]


def ignore_case(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _filter_int(value: Any, default: int = 0, base: int = 10) -> int:
    try:
        if isinstance(value, str):
            return int(value, base)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def _filter_round(value: Any, precision: int = 0, method: str = "common") -> Any:
    if method == "common":
        return round(value, precision)
    if method not in ("ceil", "floor"):
        raise ValueError(method)  # the tree hands it to Jinja2, which raises its own error
    import math

    func = math.ceil if method == "ceil" else math.floor
    return func(value * (10**precision)) / (10**precision)


def _filter_replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    return str(value).replace(str(old), str(new), -1 if count is None else count)


def _filter_trim(value: Any, chars: str | None = None) -> str:
    return soft_str(value).strip(chars)


def _filter_lower(value: Any) -> str:
    return soft_str(value).lower()


def _filter_upper(value: Any) -> str:
    return soft_str(value).upper()


def _test_none(value: Any) -> bool:
    return value is None


def _test_string(value: Any) -> bool:
    return isinstance(value, str)


def _test_true(value: Any) -> bool:
    return value is True


def _test_false(value: Any) -> bool:
    return value is False


TESTS: dict[str, Callable[..., bool]] = {
    "none": _test_none,
    "string": _test_string,
    "true": _test_true,
    "false": _test_false,
}
"""Jinja2 tests the tree knows (``defined`` and ``undefined`` are answered in ``_Run``)."""

PLAIN_FILTERS: dict[str, Callable[..., Any]] = {
    "plural": plural,
    "fmt": fmt,
    "int": _filter_int,
    "round": _filter_round,
    "replace": _filter_replace,
    "trim": _filter_trim,
    "lower": _filter_lower,
    "upper": _filter_upper,
    "length": len,
    "count": len,
    "list": list,
}
"""Filters that only see their value and arguments (the rest are methods of ``_Run``)."""
