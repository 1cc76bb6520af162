"""Module-level patterns compiled on first use behave as compiled ones (``bot.lazy_re``)."""

from __future__ import annotations

import pickle
import re

from bot.lazy_re import compiled_pattern, lazy_compile


def test_a_lazy_pattern_is_compiled_only_when_first_used() -> None:
    lazy = lazy_compile(r"(?P<n>[0-9]+) worker_connections", re.IGNORECASE)
    assert "_compiled" not in vars(lazy)
    m = lazy.search("1024 WORKER_CONNECTIONS are not enough")
    assert m is not None and m.group("n") == "1024"
    assert "_compiled" in vars(lazy) and "search" in vars(lazy)


def test_every_method_and_attribute_answers_as_re_compile_does() -> None:
    text = "a=1; b=22; c=333"
    lazy, real = lazy_compile(r"([a-z])=([0-9]+)"), re.compile(r"([a-z])=([0-9]+)")
    assert lazy.findall(text) == real.findall(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.sub(r"\1:\2", text) == real.sub(r"\1:\2", text)
    assert lazy.subn("x", text) == real.subn("x", text)
    assert lazy.split(text) == real.split(text)
    assert lazy.fullmatch("a=1") is not None and lazy.match("?") is None
    assert (lazy.pattern, lazy.flags, lazy.groups) == (real.pattern, real.flags, real.groups)


def test_bytes_patterns_and_pickling_keep_working() -> None:
    lazy = lazy_compile(rb"\x00+")
    assert lazy.sub(b"", b"a\x00\x00b") == b"ab"
    again = pickle.loads(pickle.dumps(lazy))
    assert again.sub(b"-", b"a\x00b") == b"a-b"


def test_compiled_pattern_sees_through_the_stand_in() -> None:
    real = re.compile("x")
    assert compiled_pattern(real) is real
    assert compiled_pattern(lazy_compile("y")).pattern == "y"  # type: ignore[union-attr]
    assert compiled_pattern("not a pattern") is None
