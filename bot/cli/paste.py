"""One message from the terminal or a pipe, read whole: bracketed paste and the "open paste" rules.

A raw ``nginx -T`` has blank lines between its files and inside them, so "a blank line ends
the message" cut it apart (and each piece was diagnosed, with a diff against the wrong file).
Two ways in, one set of rules:

- **A terminal** (stdin is a TTY): the chat turns on bracketed paste (``ESC[?2004h``), so the
  terminal wraps every paste in ``ESC[200~`` ... ``ESC[201~`` and the paste is one message,
  blank lines and all; a typed line is sent by Enter. When what was pasted or typed is still
  unfinished (a ``{`` or a code fence not closed) the reader says so and keeps reading until
  an empty line. (A terminal without bracketed paste: start the paste with a ``` fence.)
- **A pipe** (or a terminal without bracketed paste, or what is typed after a paste that is
  still open): lines until a blank line, except while
  the message is open: inside a code fence it runs to the closing fence; after a blank line
  it goes on when braces are unbalanced, an ``nginx -T`` dump (``# configuration file``) or
  configuration is being pasted, *and* the next line continues it (another file's header, a
  comment, a line ending in ``;``, ``{`` or ``}``). A typed answer after the dump ("1",
  "done", a question) is never configuration, so it starts the next message.

Whether a dump that ends up in a message is whole is the engine's question, not this one's:
a partial ``nginx -T`` gets no diff and the answer says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bot.lazy_re import lazy_compile

BRACKETED_PASTE_ON = "\x1b[?2004h"
BRACKETED_PASTE_OFF = "\x1b[?2004l"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

MAX_MESSAGE_LINES = 200_000
"""A bound on one message (the engine refuses big pastes with a clear error long before)."""

_DUMP_HEADER = lazy_compile(r"^# configuration file \S.*:\s*$")
_CONFIG_LINE = lazy_compile(r"^[ \t]*+(?:#.*|[^#]*[;{}][ \t]*+(?:#.*)?)$")
_ERROR_LOG_LINE = lazy_compile(r"^\s*[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \[")
_FENCE = "```"


def is_config_line(line: str) -> bool:
    """A line that continues pasted configuration: a header, a comment, or ending in ``;``, ``{``, ``}``."""
    stripped = line.strip()
    return bool(stripped) and (_DUMP_HEADER.match(stripped) is not None or _CONFIG_LINE.match(stripped) is not None)


def open_braces(lines: list[str]) -> int:
    """``{`` minus ``}`` outside quotes and comments, over the configuration-looking lines."""
    depth = 0
    for line in lines:
        if _ERROR_LOG_LINE.match(line):
            continue  # a log line may quote a request with braces in it
        quote = ""
        escaped = False
        for ch in line:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
    return depth


def _fence_open(lines: list[str]) -> bool:
    """Whether the message started a code fence that has not closed yet."""
    if not lines or not lines[0].strip().startswith(_FENCE):
        return False
    first = lines[0].strip()
    if len(first) > 3 and first.endswith(_FENCE):
        return False  # ```one line```
    return not any(line.strip().startswith(_FENCE) for line in lines[1:])


def unfinished(lines: list[str]) -> bool:
    """Whether what was pasted cannot be complete: a code fence or a ``{`` still open."""
    return _fence_open(lines) or open_braces(lines) > 0


def may_go_on(lines: list[str]) -> bool:
    """Whether a message may go on past a blank line: unfinished, or a dump or config being pasted."""
    if unfinished(lines):
        return True
    last = next((line for line in reversed(lines) if line.strip()), "")
    return is_config_line(last)


class MessageReader:
    """Reads one message at a time from ``stream`` by the rules in the module docstring."""

    def __init__(self, stream: TextIO, *, tty: bool = False, on_open: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self._tty = tty
        self._on_open = on_open
        self._pending: list[str] = []

    def _line(self) -> str | None:
        """The next raw line (without its end), or None at end of input."""
        if self._pending:
            return self._pending.pop()
        raw = self._stream.readline()
        if not raw:
            return None
        return raw.rstrip("\n").rstrip("\r")

    def _push(self, line: str) -> None:
        self._pending.append(line)

    def read(self) -> str | None:
        """One message, or None at end of input (blank lines between messages are skipped)."""
        lines: list[str] = []
        bracketed = False
        while len(lines) < MAX_MESSAGE_LINES:
            line = self._line()
            if line is None:
                break
            if PASTE_START in line:
                before, _, rest = line.partition(PASTE_START)
                if before.strip():
                    lines.append(before)
                lines.extend(self._bracketed(rest))
                bracketed = True
                if not unfinished(lines) or not self._tty:
                    if self._tty:
                        break
                    continue
                if self._on_open is not None:
                    self._on_open()
                continue
            if not lines and not line.strip():
                continue
            if line.strip() or _fence_open(lines):
                lines.append(line)
                if lines[0].strip().startswith(_FENCE) and len(lines) > 1 and line.strip().startswith(_FENCE):
                    break  # the closing fence ends a fenced message
                if len(lines) == 1 and _FENCE in line.strip()[3:] and line.strip().startswith(_FENCE):
                    break  # ```one line```
                if self._tty and not bracketed and not unfinished(lines):
                    break  # typed in a terminal: Enter sends it
                if self._tty and not bracketed and len(lines) == 1 and self._on_open is not None:
                    self._on_open()
                continue
            # A blank line: the end, unless the message is open and the next line continues it.
            if bracketed or not may_go_on(lines) or not self._continues(lines):
                break
        text = "\n".join(lines).strip("\n")
        return text if text.strip() else None

    def _bracketed(self, first: str) -> list[str]:
        """The lines of one bracketed paste, from just after ``ESC[200~`` to ``ESC[201~``."""
        out: list[str] = []
        line: str | None = first
        while line is not None and len(out) < MAX_MESSAGE_LINES:
            if PASTE_END in line:
                head, _, tail = line.partition(PASTE_END)
                out.append(head)
                if tail.strip():
                    out.append(tail)  # typed right after the paste, on its last line
                break
            out.append(line)
            line = self._line()
        while out and not out[-1].strip():
            out.pop()
        return out

    def _continues(self, lines: list[str]) -> bool:
        """After a blank line: look at the next non-blank line; keep it for later when it starts a new message."""
        blanks = [""]
        nxt = self._line()
        while nxt is not None and not nxt.strip() and len(blanks) < MAX_MESSAGE_LINES:
            blanks.append(nxt)
            nxt = self._line()
        if nxt is None:
            return False
        self._push(nxt)
        if PASTE_START in nxt or not is_config_line(nxt):
            return False
        lines.extend(blanks)
        return True
