"""The functions recipe expressions call on values as nginx and php-fpm write them.

Sizes (``2000M``), times (``1m30s``) and counts are read and written the way the config does,
so a recipe says ``size_limit(body_bytes)`` instead of doing unit arithmetic in Jinja. Only
ASCII digits count, and every number is bounded: the values come from pasted text.
"""

from __future__ import annotations

import math
from typing import Any

from bot.lazy_re import lazy_compile

_SIZE = lazy_compile(r"^([0-9]{1,15})([kKmMgG]?)$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TIME_PART = lazy_compile(r"([0-9]{1,9})(ms|s|m|h|d|w|M|y)?")
_TIME_UNITS = {"ms": 0.001, "s": 1, "": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_NUMBER = lazy_compile(r"^[0-9]{1,15}$")


def size_bytes(text: Any) -> int | None:
    """``2000M`` -> 2097152000; None when it is not an nginx size."""
    m = _SIZE.match(str(text or "").strip())
    if m is None:
        return None
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def size_text(n: int) -> str:
    """Bytes as nginx writes them, in the largest unit that holds the value exactly."""
    for unit in ("g", "m", "k"):
        if n and n % _SIZE_UNITS[unit] == 0:
            return f"{n // _SIZE_UNITS[unit]}{unit}"
    return str(n)


def size_limit(n: int, headroom: float = 1.1) -> str:
    """A limit above ``n`` bytes with headroom, rounded up to a whole unit (``3g``, ``6m``)."""
    want = max(1, math.ceil(n * headroom))
    for unit in ("g", "m", "k"):
        if want >= _SIZE_UNITS[unit]:
            return f"{math.ceil(want / _SIZE_UNITS[unit])}{unit}"
    return str(want)


def seconds(text: Any) -> float | None:
    """``1m30s`` -> 90, ``300`` -> 300; None when it is not an nginx time."""
    s = str(text or "").strip()
    if not s or len(s) > 40:
        return None
    total, at = 0.0, 0
    for m in _TIME_PART.finditer(s):
        if m.start() != at:
            return None
        total += int(m.group(1)) * _TIME_UNITS[m.group(2) or ""]
        at = m.end()
    return total if at == len(s) else None


def duration_text(value: float) -> str:
    """Seconds as nginx writes a time: ``300s`` (whole seconds, at least 1)."""
    return f"{max(1, math.ceil(value))}s"


def number(text: Any) -> int | None:
    """An ASCII count (``4096``); ``1048577+4096`` (a chunked body) is summed."""
    parts = str(text or "").strip().split("+")
    if not parts or len(parts) > 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    return sum(int(p) for p in parts)


def power_of_two_at_least(n: float) -> int:
    """The smallest power of two not below ``n`` (buffer sizes)."""
    return 1 << max(0, math.ceil(math.log2(max(1.0, n))))


HELPERS: dict[str, Any] = {
    "size_bytes": size_bytes,
    "size_text": size_text,
    "size_limit": size_limit,
    "seconds": seconds,
    "duration_text": duration_text,
    "number": number,
    "power_of_two_at_least": power_of_two_at_least,
}
"""What every recipe expression may call, by name."""
