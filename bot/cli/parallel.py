"""Process pools for the command line: big inputs on every CPU.

The engine never starts processes (the Slack bot is multi-threaded, and forking a threaded
process is unsafe); the CLI is single-threaded, so it may. Two uses:

- ``group_file_parallel``: a large log split at line boundaries, each part grouped in a
  forked process like the serial path (streamed, so memory per process stays flat), the
  groups merged. The matcher is shared with the children by ``fork`` (built once in the
  parent, copy-on-write).
- ``process_map``: the ``Mapper`` the CLI hands the engine, e.g. for the files of a big
  ``nginx -T`` dump (crossplane's lexer is pure Python).
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from bot.evidence import iter_lines_binary
from bot.grouping import Grouper, fastgroup
from bot.matching import Matcher

_MATCHER: Matcher | None = None  # set in the parent before forking

_T = TypeVar("_T")
_R = TypeVar("_R")


def _can_fork() -> bool:
    """More than one CPU, fork available, and no other thread (a progress bar's) to copy half-way."""
    return threading.active_count() == 1 and len(os.sched_getaffinity(0)) > 1 and "fork" in mp.get_all_start_methods()


def process_map(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``fn`` over ``items`` in forked processes, one per CPU, results in order; in turn where forking is unsafe."""
    if not _can_fork():
        return [fn(item) for item in items]
    workers = min(len(os.sched_getaffinity(0)), len(items))
    with mp.get_context("fork").Pool(workers) as pool:
        return pool.map(fn, items, chunksize=max(1, len(items) // (workers * 4)))


class _RangeReader:
    """A read-only view of bytes [start, end) of a file, for ``iter_lines_binary``."""

    def __init__(self, stream: BinaryIO, start: int, end: int) -> None:
        self._stream = stream
        self._left = end - start
        stream.seek(start)

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n < 0 else min(n, self._left)
        data = self._stream.read(want)
        self._left -= len(data)
        return data


def split_points(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that cover the file, each starting at the beginning of a line."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as f:
        for i in range(1, parts):
            f.seek(size * i // parts)
            f.readline()
            pos = f.tell()
            if bounds[-1] < pos < size:
                bounds.append(pos)
    bounds.append(size)
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _group_range(args: tuple[str, int, int]) -> Grouper:
    path, start, end = args
    assert _MATCHER is not None
    if fastgroup.available():  # per-line work in C, one classification per message head
        with open(path, "rb") as f:
            return fastgroup.group_stream_native(_RangeReader(f, start, end), path, _MATCHER)  # type: ignore[arg-type]
    grouper = Grouper()
    add = grouper.add
    match_text = _MATCHER.match_text
    with open(path, "rb") as f:
        for raw in iter_lines_binary(_RangeReader(f, start, end), path):  # type: ignore[arg-type]
            line, m = match_text(raw)
            add(line, m)
    return grouper


WARM_BYTES = 65536
"""The head of the file whose lines warm the matcher before the fork (``Matcher.warm``)."""


def _warm(path: Path, matcher: Matcher) -> None:
    """Warm the matcher on the file's first lines, then freeze the heap: what the parent has
    built is shared with the workers, and their garbage collector leaves it alone instead of
    touching (and so copying) every page of it."""
    with path.open("rb") as f:
        head = f.read(WARM_BYTES)
    cut = head.rfind(b"\n")
    if cut > 0:
        matcher.warm(head[:cut].decode("utf-8", "replace").splitlines())
    gc.freeze()


def group_file_parallel(path: Path, matcher: Matcher, workers: int | None = None) -> Grouper:
    """Group one large file using ``workers`` processes (default: CPUs available)."""
    global _MATCHER
    workers = workers or len(os.sched_getaffinity(0))
    ranges = split_points(path, workers)
    _MATCHER = matcher
    _warm(path, matcher)
    ctx = mp.get_context("fork")
    try:
        with ctx.Pool(len(ranges)) as pool:
            parts = pool.map(_group_range, [(str(path), a, b) for a, b in ranges])
    finally:
        gc.unfreeze()  # the parent goes on (diagnosis, output) with its collector as usual
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    return merged
