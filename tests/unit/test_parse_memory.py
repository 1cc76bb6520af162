"""Parsing a dump leaves no memory behind in a long-running worker (issue 13, item 5).

A fuzz run of 95,000 inputs grew its two workers to 1.0 and 1.8 GB: after each parse the
survivors were moved straight to the collector's oldest generation, which skipped its
accounting, so the reference cycles every ``crossplane.parse`` leaves behind (each holding a
whole parsed file) were never collected. These tests fail if that comes back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.evidence import parse_dump

DUMPS = Path(__file__).resolve().parents[1] / "data" / "nginx-T"


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector on, with its default thresholds, whatever the test run set."""
    was_enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.enable()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not was_enabled:
            gc.disable()


@pytest.mark.parametrize("name", ["debian-default.txt", "unbalanced.txt", "truncated.txt"])
def test_repeated_parses_do_not_pile_up_in_the_oldest_generation(name: str, collector_on: None) -> None:
    text = (DUMPS / name).read_text()
    parse_dump(text)
    gc.collect()
    before = len(gc.get_objects(generation=2))
    for _ in range(150):
        parse_dump(text)
    grown = len(gc.get_objects(generation=2)) - before
    # One parse keeps a few hundred objects alive at most; 150 parses moved into the oldest
    # generation unaccounted (the old behaviour) leave tens of thousands there.
    assert grown < 5_000, f"{grown} objects reached the oldest generation after 150 parses of {name}"


def test_a_syntax_error_is_kept_without_the_frames_that_raised_it(collector_on: None) -> None:
    """The lexer's error is kept for its message and line, not its traceback: the frames
    lead back to the caller that holds the error, a cycle only a full collection frees."""
    text = (DUMPS / "truncated.txt").read_text()  # the lexer stops at its cut-off block
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        parse_dump(text)
        gc.collect()
        leaked = [type(o).__name__ for o in gc.garbage if isinstance(o, BaseException)]
    finally:
        gc.set_debug(0)
        del gc.garbage[:]
    assert leaked == []
