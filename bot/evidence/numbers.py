"""Numbers read from pasted text: ASCII digits only, bounded before conversion.

``str.isdigit()`` and a bare ``\\d`` accept ``²``, ``①`` or ``፩``, which ``int()`` then
rejects (or reads as a digit nobody typed), and a 5,000-digit run passes ``isdigit`` but
exceeds Python's int-conversion limit. Every parser turns text into a number here, so one
odd character makes one value unknown instead of sinking the whole paste.
"""

from __future__ import annotations

import re

from bot.lazy_re import lazy_compile

MAX_DIGITS = 20
"""Longer runs are not a count, size or limit nginx or the kernel could hold (2**64 has 20
digits; the kernel prints 2**63-1 for an unlimited ``file-max``)."""

_DIGITS = lazy_compile(r"[0-9]{1,20}", re.ASCII)
_SIGNED = lazy_compile(r"-?[0-9]{1,20}", re.ASCII)


def is_number(text: str) -> bool:
    """True when ``text`` is 1-20 ASCII digits and nothing else (what ``to_int`` converts)."""
    return _DIGITS.fullmatch(text) is not None


def to_int(text: str | None) -> int | None:
    """``text`` as a non-negative int when it is 1-20 ASCII digits; None otherwise."""
    if text is None or _DIGITS.fullmatch(text) is None:
        return None
    return int(text)


def to_signed_int(text: str | None) -> int | None:
    """Like ``to_int`` but with an optional leading ``-`` (``nice`` values, ``-1`` sentinels)."""
    if text is None or _SIGNED.fullmatch(text) is None:
        return None
    return int(text)
