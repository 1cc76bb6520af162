"""Read pasted or file input safely: streamed, bounded per line, never a traceback.

A 3 a.m. paste can be anything: an empty file, a core dump, a log with invalid UTF-8,
a minified JSON blob on one 1 MB line. Lines are streamed (a 1 GB log must not be loaded
whole), cut at ``MAX_LINE_BYTES``, and decoded with replacement characters. Input that
cannot be a log (a directory, a binary, nothing at all) raises ``InputError`` with a
message that says what was wrong and what to give instead.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_LINE_BYTES = 16384
"""nginx writes at most 2048 bytes a line; wrappers and pasted context add some. Cut beyond."""

_SNIFF_BYTES = 65536
_CHUNK = 1 << 20
_CONTROL = bytes(b for b in range(32) if b < 9 or 13 < b < 32)
"""Control bytes that text does not hold (tab, line ends, form feed and vertical tab are text)."""


class InputError(Exception):
    """Input that cannot be used; the message is shown to the user as-is."""


def check_path(path: Path) -> int:
    """Refuse what is not a readable regular file; return its size."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; pass the error log's path, or pipe it on stdin") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; try `sudo cat {path} | nginx-triage diagnose`") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory; pass the log file inside it, e.g. {path}/error.log")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; try `sudo cat {path} | nginx-triage diagnose`")
    return st.st_size


def check_sample(sample: bytes, name: str) -> None:
    """Refuse binary data, judged on the first bytes of the input."""
    nul = sample.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{name}: NUL byte at offset {nul}: this is binary data, not a text log "
            "(a log truncated with copytruncate starts with NULs: `tr -d '\\000' < FILE`)"
        )
    if sample:
        control = len(sample) - len(sample.translate(None, _CONTROL))  # counted in C, not byte by byte
        if control > len(sample) // 10:
            raise InputError(f"{name}: mostly control bytes: this is binary data, not a text log")


BLANK_START_BYTES = 16 << 20
"""Blank bytes held back to learn whether any text follows them; past this, lines flow."""


def iter_lines_binary(stream: BinaryIO, name: str, *, on_bytes: object = None) -> Iterator[str]:
    """Yield decoded lines from a byte stream, each cut at ``MAX_LINE_BYTES``.

    Raises ``InputError`` for binary input (checked on the first 64 KiB) and for input
    with no text at all. ``on_bytes`` (a callable taking a byte count) reports progress.
    """
    report = on_bytes if callable(on_bytes) else None
    first = stream.read(_SNIFF_BYTES)
    check_sample(first, name)
    pending, text_seen = past_blank_start(stream, first, name)
    carry = b""
    skipping = False  # inside an overlong line: drop bytes until its newline
    while True:
        buf = carry + pending if carry else pending
        held = b""
        if buf.endswith(b"\r"):  # its LF may start the next chunk: decide then
            buf, held = buf[:-1], b"\r"
        if b"\r" in buf:  # CRLF and old Mac CR-only line ends both end a line
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            if skipping:
                skipping = False
            else:
                yield buf[start : min(nl, start + MAX_LINE_BYTES)].decode("utf-8", "replace")
            start = nl + 1
        rest = buf[start:]
        if skipping:
            carry = b""
        elif len(rest) > MAX_LINE_BYTES:
            yield rest[:MAX_LINE_BYTES].decode("utf-8", "replace")
            carry = b""
            skipping = True
        else:
            carry = rest + held
        if report is not None:
            report(len(pending))
        pending = stream.read(_CHUNK)
        if not pending:
            break
        if not text_seen and pending.strip():
            text_seen = True
    if not skipping:
        yield from _last_line(carry)
    if not text_seen:
        raise InputError(f"{name}: empty input; paste NGINX error-log lines or pass a log file")


def _last_line(carry: bytes) -> Iterator[str]:
    """The input's last line when it has no newline after it (a lone CR still ends it)."""
    if carry.endswith(b"\r"):
        yield carry[:-1].decode("utf-8", "replace")
    elif carry:
        yield carry.decode("utf-8", "replace")


def past_blank_start(stream: BinaryIO, first: bytes, name: str) -> tuple[bytes, bool]:
    """The first chunk, extended over a blank start (up to ``BLANK_START_BYTES``), and whether text was seen.

    64 KiB of blank lines before the first log line is not an empty input; an input with no
    text at all is, and says so before any line is yielded when it is small enough to tell.
    """
    data = first
    while not data.strip() and len(data) < BLANK_START_BYTES:
        more = stream.read(_CHUNK)
        if not more:
            raise InputError(f"{name}: empty input; paste NGINX error-log lines or pass a log file")
        data += more
    return data, bool(data.strip())


def iter_lines_text(text: str) -> Iterator[str]:
    """Yield lines of already-decoded text (a Slack paste), each cut at ``MAX_LINE_BYTES``."""
    if not text.strip():
        raise InputError("empty input; paste NGINX error-log lines")
    if "\x00" in text:
        raise InputError("the text contains NUL bytes: paste the log as text, not a binary file")
    for line in text.splitlines():
        yield line[:MAX_LINE_BYTES]


def open_input(path: Path) -> tuple[BinaryIO, int]:
    """Open a checked file for streaming; returns the stream and its size."""
    size = check_path(path)
    try:
        return path.open("rb"), size
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
