"""Read CLI inputs (files, stdin) into a ``Collected`` bundle.

Small inputs are read whole, redacted (``bot.cli.redacting``) and sniffed: one file may hold
a log, an ``nginx -T`` dump and a limits table. Large inputs can only be logs (nobody has a
32 MB ``nginx -T``), so they are streamed straight into the matcher, on every CPU when it is
one big file; what the grouper keeps of them is redacted when the stream ends.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from bot.cli.redacting import IntakeRedaction
from bot.diagnosis.collect import Collected
from bot.evidence import InputError, check_path, check_sample, iter_lines_binary
from bot.matching import Matcher

SNIFF_MAX_BYTES = 32 << 20
"""Inputs up to this size are read whole and split into evidence sections."""

_T = TypeVar("_T")
_R = TypeVar("_R")

PARALLEL_MIN_BYTES = 32 << 20
"""One file bigger than this is grouped on every CPU (``bot.cli.parallel``, imported only then):
below it the fork and merge cost more than they save."""


def process_map(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``bot.cli.parallel.process_map``, imported on first use (multiprocessing is slow to import)."""
    from bot.cli.parallel import process_map as real

    return real(fn, items)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _take_stream(ev: Collected, stream: BinaryIO, name: str, matcher: Matcher, redaction: IntakeRedaction) -> None:
    head = stream.read(SNIFF_MAX_BYTES)
    if b"# configuration file " not in head[:65536]:
        check_sample(head[:65536], name)
    # else: an `nginx -T` dump with damage in it; the config parser reports the bad lines
    # with file and line, and everything else in the paste is still read.
    if not head.strip():
        raise InputError(f"{name}: empty input; paste NGINX error-log lines or pass a log file")
    more = stream.read(1)
    if not more:
        ev.add_text(redaction.text(_decode(head)), matcher, name)
        return
    # Bigger than any evidence but a log: sniff the head, stream the rest as log lines.
    cut = head.rfind(b"\n") + 1
    ev.add_text(redaction.text(_decode(head[:cut])), matcher, name)
    redaction.streamed = True

    def rest() -> Iterator[bytes]:
        yield head[cut:] + more
        while chunk := stream.read(1 << 20):
            yield chunk

    ev.add_log_lines(iter_lines_binary(_ChunkReader(rest()), name), matcher)  # type: ignore[arg-type]


class _ChunkReader:
    """A ``read()`` over an iterator of byte chunks, for ``iter_lines_binary``."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            self._buf += nxt
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _take_big_file_native(
    ev: Collected, stream: BinaryIO, name: str, matcher: Matcher, report: Callable[[int], None] | None
) -> None:
    """``ev.add_log_lines`` over a big seekable log, with the per-line loop in C."""
    room = 50 - len(ev.env_text)  # the first lines, for environment detection, as add_log_lines keeps
    if room > 0:
        ev.env_text.extend(raw[:500] for raw in itertools.islice(iter_lines_binary(stream, name), room))
        stream.seek(0)
    from bot.grouping import fastgroup

    fastgroup.group_stream_native(stream, name, matcher, grouper=ev.grouper, on_bytes=report)
    ev.present.add("error-log")


def collect(
    files: list[Path] | None,
    matcher: Matcher,
    progress: Callable[[Path, int], Callable[[int], None] | None] | None = None,
    redaction: IntakeRedaction | None = None,
) -> Collected:
    """Evidence from every input in order, redacted by ``redaction`` (a fresh one when None);
    raises ``InputError`` for unusable input."""
    redaction = redaction if redaction is not None else IntakeRedaction()
    ev = _collect(files, matcher, progress, redaction)
    redaction.kept(ev)
    return ev


def warn_if_slow(size: int) -> None:
    """One stderr line when a big input will take the pure-Python path (no C accelerator):
    it is ~16x slower and nothing else would tell the user why, or how to get it."""
    from bot.cli.doctor import BIG_INPUT_TEXTS, native_state
    from bot.knowledge.texts import say

    state, _path = native_state()
    if state != "ok":
        sys.stderr.write(say(BIG_INPUT_TEXTS[state], mb=size >> 20) + "\n")


def _collect(
    files: list[Path] | None,
    matcher: Matcher,
    progress: Callable[[Path, int], Callable[[int], None] | None] | None,
    redaction: IntakeRedaction,
) -> Collected:
    ev = Collected(map_files=process_map)
    sources = files or [Path("-")]
    for path in sources:
        if str(path) == "-":
            if sys.stdin.isatty() and not files:
                raise InputError(
                    "no input: pass a log file, or pipe lines in, e.g. `tail -n 500 error.log | nginx-triage diagnose`"
                )
            _take_stream(ev, sys.stdin.buffer, "stdin", matcher, redaction)
            continue
        size = check_path(path)
        if size > SNIFF_MAX_BYTES:
            warn_if_slow(size)
        if size > PARALLEL_MIN_BYTES and len(sources) == 1:
            with path.open("rb") as f:
                check_sample(f.read(65536), str(path))
            from bot.cli.parallel import group_file_parallel

            ev.grouper.merge(group_file_parallel(path, matcher))
            ev.present.add("error-log")
            redaction.streamed = True
            continue
        with path.open("rb") as stream:
            if size > SNIFF_MAX_BYTES:
                redaction.streamed = True
                report = progress(path, size) if progress else None
                check_sample(stream.read(65536), str(path))
                stream.seek(0)
                from bot.grouping import fastgroup

                if fastgroup.available():
                    _take_big_file_native(ev, stream, str(path), matcher, report)
                else:
                    ev.add_log_lines(iter_lines_binary(stream, str(path), on_bytes=report), matcher)
            else:
                _take_stream(ev, stream, str(path), matcher, redaction)
    return ev
