"""Reading pasted command output: the lines that count, the prompts between them, numbers.

Every parser here gets a section as people paste it: markdown fences and quote marks around
it, the shell prompt that ran the command, sometimes the command's own error instead of its
output. These helpers take that apart the same way for all of them.
"""

from __future__ import annotations

import re

from bot.evidence.limits.model import EvidenceError
from bot.evidence.numbers import is_number
from bot.evidence.sections.prompts import prompt_command
from bot.lazy_re import lazy_compile

LINE_CHARS = 4096
"""No output we read has longer lines; a longer one is cut, not refused."""

_FENCE = lazy_compile(r"^```[\w+-]*$")


def output_lines(text: str) -> list[str]:
    """Non-blank lines without markdown fences, quote marks or trailing blanks."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw[:LINE_CHARS].rstrip()
        stripped = line.lstrip()
        if stripped.startswith(">"):
            line = stripped.lstrip("> ")
        if line.lstrip().startswith("```"):
            if _FENCE.match(line.strip()):
                continue
            line = line.lstrip()[3:]
        if line.endswith("```"):
            line = line[:-3].rstrip()
        if line.strip():
            out.append(line)
    return out


def prompt_segments(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """Split lines at shell prompts: ``[(command or None, output lines), ...]``."""
    segments: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            segments.append((cmd, []))
        else:
            segments[-1][1].append(line.strip())
    return [seg for seg in segments if seg[0] is not None or seg[1]]


def limit_value(token: str, what: str, paste: str) -> int | None:
    """A limit value: a non-negative integer, or ``unlimited``/``infinity`` as None."""
    if token in ("unlimited", "infinity"):
        return None
    if token.isascii() and is_number(token) and len(token) <= 20:
        return int(token)
    raise EvidenceError(f"{what}: expected a number or 'unlimited', got {token!r}; paste the output of `{paste}`")


def count_value(token: str, what: str, paste: str) -> int:
    """A count: a non-negative integer, else an ``EvidenceError`` naming what to paste."""
    if token.isascii() and is_number(token) and len(token) <= 20:
        return int(token)
    raise EvidenceError(f"{what}: expected a number, got {token!r}; paste the output of `{paste}`")


def quoted_start(text: str) -> str:
    """The first non-blank line, quoted and cut at 60 characters: what an error message shows of a paste."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(first[:60] + ("..." if len(first) > 60 else ""))


COMMAND_FAILED = lazy_compile(r"No such file or directory|Permission denied|command not found|not permitted")


def refuse_command_error(lines: list[str], paste: str) -> None:
    """Raise when the paste is the command's own failure (``No such file``), not its output."""
    for line in lines:
        if COMMAND_FAILED.search(line) and prompt_command(line) is None:
            raise EvidenceError(f"the command failed ({line.strip()[:120]}); run `{paste}` and paste its output")


def single_number(text: str, pattern: re.Pattern[str], paste: str, what: str) -> int:
    """The one number a command such as ``nproc`` prints, prompts aside."""
    lines = output_lines(text)
    outputs = [line.strip() for line in lines if prompt_command(line) is None]
    if len(outputs) == 1:
        m = pattern.match(outputs[0])
        if m is not None:
            return int(m.group(1))
    refuse_command_error(lines, paste)
    got = "nothing" if not outputs else (f"{len(outputs)} lines" if len(outputs) > 1 else repr(outputs[0][:60]))
    raise EvidenceError(f"expected the single number `{paste}` prints ({what}), got {got}")
