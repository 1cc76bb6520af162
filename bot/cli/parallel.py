"""Process pools for the command line: big inputs on every CPU.

The engine never starts processes (the Slack bot is multi-threaded, and forking a threaded
process is unsafe); the CLI is single-threaded, so it may. Two uses:

- ``group_file_parallel``: a large log split at line boundaries, each part grouped in a
  forked child (``fork_map``: one task per child, no pool) like the serial path (streamed,
  so memory per process stays flat), the groups merged. The matcher is shared with the
  children by ``fork`` (built once in the parent, warmed on the file's first lines so the
  children do not each compile the same regexes, the heap frozen for the fork).
- ``process_map``: the ``Mapper`` the CLI hands the engine, e.g. for the files of a big
  ``nginx -T`` dump (crossplane's lexer is pure Python).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import pickle
import signal
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
    import multiprocessing as mp

    return threading.active_count() == 1 and len(os.sched_getaffinity(0)) > 1 and "fork" in mp.get_all_start_methods()


def process_map(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``fn`` over ``items`` in forked processes, one per CPU, results in order; in turn where forking is unsafe."""
    if not _can_fork():
        return [fn(item) for item in items]
    import multiprocessing as mp

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


def _child(fn: Callable[[_T], _R], item: _T, out_fd: int) -> None:
    """In a forked child: ``fn(item)`` (or the exception it raised) pickled to ``out_fd``, then
    leave at once (no atexit handlers, no flushing of the parent's buffers)."""
    code = 0
    try:
        try:
            payload = pickle.dumps((True, fn(item)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # every failure goes back to the parent
            code = 1
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle
                payload = pickle.dumps((False, RuntimeError(f"worker failed: {exc!r}")))
        with os.fdopen(out_fd, "wb") as out:
            out.write(payload)
    finally:
        os._exit(code)


def fork_map(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``[fn(item) for item in items]``, each call in its own forked child, results in order.

    One task per child needs none of what a ``multiprocessing`` pool brings (its import, three
    handler threads, a task queue, a shutdown that waits on them): ~30 ms of CPU and ~60 ms of
    wall time of a one-shot run. A child's exception is raised here; a child that dies without
    an answer (killed, out of memory) is a RuntimeError. The children are reaped in every case.
    """
    children: list[tuple[int, int]] = []
    unread: set[int] = set()
    answers = []
    try:
        for item in items:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(fn, item, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd))
            unread.add(read_fd)
        for pid, read_fd in children:
            unread.discard(read_fd)
            with os.fdopen(read_fd, "rb") as f:
                answers.append((pid, f.read()))
    except BaseException:
        for pid, _fd in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        raise
    finally:
        for fd in unread:
            os.close(fd)
        for pid, _fd in children:
            os.waitpid(pid, 0)
    results: list[_R] = []
    for pid, data in answers:
        if not data:
            raise RuntimeError(f"worker {pid} ended without an answer")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        results.append(value)
    return results


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
    try:
        parts = fork_map(_group_range, [(str(path), a, b) for a, b in ranges])
    finally:
        gc.unfreeze()  # the parent goes on (diagnosis, output) with its collector as usual
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    return merged
