"""Parse one file of the dump with crossplane, repairing in a temporary copy what would stop it.

crossplane drops a whole file on a syntax error; a pasted file is often cut off or carries an
extra ``}`` or binary bytes. Each damage spot becomes a ``ConfigIssue`` with file and line
and is patched in the copy only (line numbers never move), so everything else still parses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import crossplane
from crossplane.errors import NgxParserSyntaxError

from bot.evidence.nginx_config.includes import MAX_BLOCK_DEPTH
from bot.evidence.nginx_config.model import HTTP_LEVEL, MAIN_BLOCKS, PASTED, ConfigIssue
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_BINARY = lazy_compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_MAX_REPAIRS = 200
_REPAIR_LEX_CHARS = 200_000
"""Characters the repairs may re-lex in one file. Each repair lexes the whole file again, so
a 70 KB file with fifty stray ``}`` cost 3.5 MB of lexing (about 2 s); past this budget the
file is read up to the next stray ``}`` and the rest is reported as ignored, with its line
(a 5 KB file still gets forty repairs)."""
# A line that, after its balanced quoted strings, still opens a quote (or escapes one).
_OPEN_QUOTE = lazy_compile(r"""^(?:[^'"\\\n]*+(?:'[^'\\\n]*'|"[^"\\\n]*")?+)*+['"\\]""", re.MULTILINE)
_INDENT_OR_COMMENT = lazy_compile(r"^[ \t]+(?:#.*)?|^#.*", re.MULTILINE)


def _disk_path(root: str, index: int) -> str:
    """Where file ``index`` of the dump lives in the temporary directory.

    Named by its place in the dump, never by the pasted path: a pasted path may be a
    directory, 300 characters long or 1,100 levels deep, and must not reach the file system.
    """
    return os.path.join(root, f"{index}.conf")


def _deep_blocks(text: str, path: str, issues: list[ConfigIssue]) -> str:
    """Blank, in the copy, blocks nested deeper than nginx configurations go (crossplane recurses).

    The blanked lines always hold as many ``{`` as ``}``, so the rest still balances.
    """
    if text.count("{") <= MAX_BLOCK_DEPTH:
        return text
    lines = text.split("\n")
    depth = 0
    start: int | None = None
    start_depth = 0
    first: int | None = None
    for i, line in enumerate(lines):
        before = depth
        peak = depth
        for ch in _unquoted(line):
            depth = depth + 1 if ch == "{" else max(0, depth - 1)
            peak = max(peak, depth)
        if start is None and peak > MAX_BLOCK_DEPTH:
            start, start_depth = i, before
            first = first or i + 1
        if start is not None:
            lines[i] = ""
            if depth <= start_depth:
                start = None
    if first is None:
        return text
    issues.append(ConfigIssue(say("evidence.blocks_too_deep", limit=MAX_BLOCK_DEPTH), path, first, partial=True))
    return "\n".join(lines)


def _unquoted(line: str) -> Iterator[str]:
    """``{`` and ``}`` of one line outside quotes and comments."""
    quote = ""
    escaped = False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return
        elif ch in "{}":
            yield ch


def _write(disk: str, text: str) -> None:
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    with open(disk, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        f.write(text)


def _blank_binary_lines(text: str, path: str, issues: list[ConfigIssue]) -> str:
    """Empty every line that carries binary bytes, so it cannot swallow the next directive."""
    if not _BINARY.search(text):
        return text
    lines = text.split("\n")
    first: int | None = None
    count = 0
    for i, line in enumerate(lines):
        if _BINARY.search(line):
            lines[i] = ""
            count += 1
            if first is None:
                first = i + 1
    issues.append(
        ConfigIssue(
            say("evidence.binary_lines", count=count, first=first),
            path,
            first,
            partial=True,
        )
    )
    return "\n".join(lines)


def _lex(disk: str) -> tuple[list[tuple[str, int, bool]], NgxParserSyntaxError | None]:
    tokens: list[tuple[str, int, bool]] = []
    try:
        for token in crossplane.lex(disk):
            tokens.append(token)
    except NgxParserSyntaxError as e:
        # without its traceback: the frames it holds lead back to the caller that keeps the
        # error, a reference cycle that would hold the whole file until a full collection
        return tokens, e.with_traceback(None)
    return tokens, None


def _unquoted_braces(line: str) -> Iterator[int]:
    """Columns of ``}`` outside quotes and comments (the lexer gives lines, not columns)."""
    quote = ""
    escaped = False
    for col, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return
        elif ch == "}":
            yield col


def _open_blocks(tokens: list[tuple[str, int, bool]]) -> tuple[list[tuple[str, int]], tuple[str, int] | None]:
    """Blocks still open after the last token, and a directive left without ``;``."""
    stack: list[tuple[str, int]] = []
    pending: tuple[str, int] | None = None
    for token, line, quoted in tokens:
        if not quoted and token in ("{", ";", "}"):
            if token == "{":
                stack.append(pending or ("{", line))
            elif token == "}" and stack:
                stack.pop()
            pending = None
        elif not quoted and token.startswith("#"):
            continue
        elif pending is None:
            pending = (token, line)
    return stack, pending


def _repair(disk: str, text: str, path: str, issues: list[ConfigIssue]) -> str:
    """Fix, in the temporary copy only, what stops crossplane: stray ``}``, missing ``}``/``;``.

    crossplane drops a whole file on a syntax error, so each damage spot is turned into a
    ``ConfigIssue`` and patched in place (line numbers never move) until the file lexes.
    """
    budget = _REPAIR_LEX_CHARS
    for attempt in range(_MAX_REPAIRS):
        budget -= len(text)
        tokens, err = _lex(disk)
        last = budget < 0 or attempt == _MAX_REPAIRS - 1
        if err is not None and 'unexpected "}"' in err.strerror and last:
            # too much damage to repair one re-lex at a time: keep what comes before it
            lineno = err.lineno or 1
            issues.append(ConfigIssue(say("evidence.stray_braces_stop", line=lineno - 1), path, lineno, partial=True))
            text = "\n".join(text.split("\n")[: lineno - 1]) + "\n"
            _write(disk, text)
            tokens = [tok for tok in tokens if tok[1] < lineno]
        elif err is not None and 'unexpected "}"' in err.strerror:
            lineno = err.lineno or 1
            lines = text.split("\n")
            seen = sum(1 for tok, ln, quoted in tokens if tok == "}" and not quoted and ln == lineno)
            cols = list(_unquoted_braces(lines[lineno - 1])) if lineno <= len(lines) else []
            issues.append(ConfigIssue(say("evidence.stray_brace"), path, lineno, partial=True))
            if seen >= len(cols):
                break
            line = lines[lineno - 1]
            lines[lineno - 1] = line[: cols[seen]] + " " + line[cols[seen] + 1 :]
            text = "\n".join(lines)
            _write(disk, text)
            continue
        stack, pending = _open_blocks(tokens)
        end_line = text.count("\n") + 1
        tail = ""
        if pending is not None:
            issues.append(
                ConfigIssue(
                    say("evidence.unterminated", name=pending[0], end_line=end_line),
                    path,
                    pending[1],
                    partial=True,
                )
            )
            tail += ";"
        if stack:
            name, opened = stack[-1]
            issues.append(
                ConfigIssue(
                    say("evidence.unclosed_block", name=name, opened=opened, open=len(stack), end_line=end_line),
                    path,
                    opened,
                    partial=True,
                )
            )
            tail += "}" * len(stack)
        if tail:
            text = text + "\n" + tail + "\n"
            _write(disk, text)
        break
    return text


def _cut_partial_tail(text: str, path: str, issues: list[ConfigIssue]) -> str:
    """Drop a directive the paste cuts off before its ``;`` (crossplane would lose the whole file).

    The partial text is blanked, not terminated: ``proxy_read_tim`` is not a directive
    nginx ever read, so it must not become one here.
    """
    cut = max(text.rfind(";"), text.rfind("{"), text.rfind("}")) + 1
    tail = text[cut:]
    residue = [ln for ln in tail.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not residue:
        return text
    line = text.count("\n", 0, cut) + 1 + next(i for i, ln in enumerate(tail.split("\n")) if ln in residue)
    issues.append(
        ConfigIssue(
            say("evidence.cut_directive", name=residue[0].split()[0]),
            path,
            line,
            partial=True,
        )
    )
    return text[:cut] + "\n" * tail.count("\n")


def _lexer_friendly(text: str) -> str:
    """Drop indentation and whole-line comments from the temporary copy (lines never move).

    crossplane's lexer walks the text one character at a time through three generators;
    indentation is a fifth of a typical file and tokens never depend on it. Only safe when
    no quoted string runs over a line end, so any line that leaves a quote open keeps the
    file as it is.
    """
    if _OPEN_QUOTE.search(text):
        return text
    return _INDENT_OR_COMMENT.sub("", text)


def _parse_text(disk: str, text: str, path: str, issues: list[ConfigIssue]) -> list[dict[str, Any]]:
    """crossplane's parse of one file, repaired first when it would fail."""
    text = _lexer_friendly(_cut_partial_tail(text, path, issues))
    _write(disk, text)
    payload = crossplane.parse(
        disk, catch_errors=True, single=True, strict=False, check_ctx=False, check_args=False, comments=False
    )
    entry = payload["config"][0]
    if entry["status"] == "ok":
        return list(entry["parsed"])
    _repair(disk, text, path, issues)
    payload = crossplane.parse(
        disk, catch_errors=True, single=True, strict=False, check_ctx=False, check_args=False, comments=False
    )
    entry = payload["config"][0]
    for err in entry["errors"]:
        reason = (err["error"] or "unexpected end of file").replace(f" in {disk}:{err['line']}", "").replace(disk, path)
        message = f"could not parse: {reason}"
        issues.append(ConfigIssue(message, path, err["line"], partial=True))
    return list(entry["parsed"])


def _snippet_wrap(stmts: list[dict[str, Any]]) -> tuple[str, str] | None:
    """Prefix/suffix that put a bare ``server {}`` (or ``location``) paste back inside ``http {}``."""
    names = {s["directive"] for s in stmts}
    if not names or names & MAIN_BLOCKS or not names & HTTP_LEVEL:
        return None
    if "location" in names and "server" not in names:
        return "http { server { ", "\n} }\n"
    return "http { ", "\n}\n"


FileJob = tuple[str, int, str, str]
"""(temporary directory, index in the dump, path, exact content) of one file."""

FileResult = tuple[str, list[dict[str, Any]], list[ConfigIssue], list[str]]
"""(path, crossplane statements, issues, synthetic wrapper block names) of one file."""


def parse_file(job: FileJob) -> FileResult:
    """Parse one file of the dump: (path, statements, issues, synthetic wrapper block names)."""
    root, index, path, content = job
    disk = _disk_path(root, index)
    file_issues: list[ConfigIssue] = []
    work = _deep_blocks(_blank_binary_lines(content, path, file_issues), path, file_issues)
    stmts = _parse_text(disk, work, path, file_issues)
    wrapped: list[str] = []
    if path == PASTED:
        wrap = _snippet_wrap(stmts)
        if wrap is not None:
            wrapped = wrap[0].split()[::2]
            file_issues = [i for i in file_issues if "binary" in i.message]
            stmts = _parse_text(disk, wrap[0] + work + wrap[1], path, file_issues)
    return path, stmts, file_issues, wrapped
