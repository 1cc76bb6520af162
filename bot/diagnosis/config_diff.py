"""Turn directive edits into one unified diff a person applies with ``patch -p0`` from ``/``.

Headers name files relative to ``/`` (``etc/nginx/nginx.conf``), not absolutely: GNU
patch treats absolute names as potentially dangerous (newer releases ignore them), while a
relative name plus ``cd /`` works on every patch we know. Debian's ``sites-enabled/*``
entries are symlinks, which patch refuses unless told ``--follow-symlinks``; and no
``--backup``: a ``default.orig`` left in ``sites-enabled/`` would be loaded by the
``include sites-enabled/*`` glob as a second server block.

Edits keep the user's file as it was: an existing directive gets new arguments in place
(indentation and trailing comment kept); a missing one is inserted where nginx expects it,
indented like its neighbours.
"""

from __future__ import annotations

import os
import re
import shlex

from bot.diagnosis.diff_hunks import unified_diff
from bot.diagnosis.edits import Edit, header_path
from bot.evidence import Directive, NginxConfig
from bot.evidence.redaction import REDACTED
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_NEEDS_QUOTES = lazy_compile(r"""[\s;{}"'#\\]""")
_INDENT = lazy_compile(r"[ \t]*")


def apply_command(diff_path: str, *, dry_run: bool = False) -> str:
    """The exact shell command that applies a diff from ``make_diff`` (run as root).

    ``--follow-symlinks`` because without it patch refuses ``sites-enabled/default``; GNU
    patch 2.7 then writes the patched text as a regular file in place of the link (nginx
    reads it; the ``sites-available`` original keeps the old text). ``dry_run`` checks
    that every hunk applies without touching anything.
    """
    check = " --dry-run" if dry_run else ""
    return f"cd / && patch -p0 --forward --follow-symlinks{check} < {shlex.quote(os.path.abspath(diff_path))}"


def _quote(arg: str) -> str:
    if arg and not _NEEDS_QUOTES.search(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _scan_to(text: str, start: int, stops: str) -> int:
    """Offset of the first of ``stops`` at/after ``start`` outside quotes and comments, or -1."""
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            nl = text.find("\n", i)
            if nl < 0:
                return -1
            i = nl
        elif ch in stops:
            return i
        i += 1
    return -1


def _block_label(d: Directive) -> str:
    return d.name if not d.args else d.name + " " + " ".join(d.args)


def _in_context(d: Directive, block: str | None) -> bool:
    if block is None:
        return d.context == ()
    return bool(d.context) and (d.context[-1] == block or d.context[-1].split(" ", 1)[0] == block)


class _FileEdits:
    """Pending changes to one file, as (start, end, replacement) spans on the original text."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.starts = _line_starts(text)
        self.spans: list[tuple[int, int, str]] = []

    def line_start(self, line: int) -> int:
        return self.starts[min(max(line, 1), len(self.starts)) - 1]

    def indent_of(self, line: int) -> str:
        m = _INDENT.match(self.text, self.line_start(line))
        return m.group(0) if m else ""

    def unit_indent(self) -> str:
        """One indentation step as this file writes it (Debian's files use tabs)."""
        for start in self.starts:
            m = _INDENT.match(self.text, start)
            end = m.end() if m else start
            if end > start and end < len(self.text) and self.text[end] not in "\n#":
                return self.text[start:end]
        return "    "

    def replace_args(self, d: Directive, args: tuple[str, ...]) -> None:
        begin = self.line_start(d.line)
        m = re.compile(r"(?<![\w$.-])" + re.escape(d.name) + r"(?=[\s;{]|$)").search(self.text, begin)
        if m is None:
            raise ValueError(say("diff.directive_not_found", name=d.name, file=d.file, line=d.line))
        end = _scan_to(self.text, m.end(), ";{}")
        if end < 0 or self.text[end] != ";":
            raise ValueError(say("diff.no_semicolon", name=d.name, file=d.file, line=d.line))
        new = (" " + " ".join(_quote(a) for a in args)) if args else ""
        self.spans.append((m.end(), end, new))

    def insert_after_line(self, line: int, body: str) -> None:
        at = self.starts[line] if line < len(self.starts) else len(self.text)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else "\n"
        self.spans.append((at, at, prefix + body))

    def insert_in_block(self, block: Directive, first_child: Directive | None, stmt: str) -> None:
        begin = self.line_start(block.line)
        brace = _scan_to(self.text, begin + len(self.indent_of(block.line)), "{")
        if brace < 0:
            raise ValueError(say("diff.no_brace", name=block.name, file=block.file, line=block.line))
        nl = self.text.find("\n", brace)
        rest = self.text[brace + 1 : nl if nl >= 0 else len(self.text)]
        if rest.strip() and not rest.strip().startswith("#"):  # one-line block: ``events { }``
            self.spans.append((brace + 1, brace + 1, f" {stmt}"))
            return
        indent = self.indent_of(first_child.line) if first_child else self.indent_of(block.line) + self.unit_indent()
        at = nl + 1 if nl >= 0 else len(self.text)
        self.spans.append((at, at, ("" if nl >= 0 else "\n") + f"{indent}{stmt}\n"))

    def result(self) -> str:
        out = self.text
        for start, end, new in sorted(self.spans, key=lambda s: (s[0], s[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out


def _statement(edit: Edit) -> str:
    return " ".join([edit.directive, *(_quote(a) for a in edit.new_args)]) + ";"


def _plan(config: NginxConfig, edit: Edit, files: dict[str, _FileEdits]) -> None:
    """Record one edit: replace in place when the directive exists, insert it otherwise."""

    def edits_for(path: str) -> _FileEdits:
        if path not in config.files:
            raise ValueError(say("diff.file_not_pasted", path=path))
        if path not in files:
            files[path] = _FileEdits(path, config.files[path])
        return files[path]

    found = config.find(edit.directive)
    if edit.line is not None:
        at = [d for d in found if d.file == edit.file and d.line == edit.line]
        if not at:
            raise ValueError(say("diff.line_not_pasted", name=edit.directive, file=edit.file, line=edit.line))
        edits_for(edit.file).replace_args(at[0], edit.new_args)
        return
    same = [d for d in found if _in_context(d, edit.context_block)]
    existing = [d for d in same if d.file == edit.file] or same
    if existing:
        edits_for(existing[0].file).replace_args(existing[0], edit.new_args)
        return

    fe = edits_for(edit.file)
    in_file = [d for d in config.directives if d.file == edit.file]
    if edit.context_block is None:
        anchor = next((d for d in in_file if d.name == "worker_processes" and d.context == ()), None)
        if anchor is None:
            top = []
            for d in in_file:
                if d.context != ():
                    continue
                if d.block:
                    break
                top.append(d)
            anchor = top[-1] if top else None
        if anchor is None:
            fe.spans.append((0, 0, _statement(edit) + "\n"))
        else:
            fe.insert_after_line(anchor.line, fe.indent_of(anchor.line) + _statement(edit) + "\n")
        return

    blocks = [d for d in in_file if d.block and (_block_label(d) == edit.context_block or d.name == edit.context_block)]
    if blocks:
        block = min(blocks, key=lambda d: len(d.context))
        inner = (*block.context, _block_label(block))
        child = next((d for d in in_file if d.context == inner and d.line > block.line), None)
        fe.insert_in_block(block, child, _statement(edit))
        return
    # The block itself is missing (``events {}`` may be omitted): create it before the first block.
    body = f"{edit.context_block} {{\n{fe.unit_indent()}{_statement(edit)}\n}}\n"
    first_block = next((d for d in in_file if d.context == () and d.block), None)
    if first_block is not None:
        start = fe.line_start(first_block.line)
        fe.spans.append((start, start, body + "\n"))
    else:
        end = len(fe.text)
        fe.spans.append((end, end, ("\n" if fe.text and not fe.text.endswith("\n") else "") + "\n" + body))


def _insert_at_block(config: NginxConfig, edit: Edit, fe: _FileEdits) -> None:
    """Insert ``edit`` as the first statement of the block opened at ``edit.block_at``."""
    assert edit.block_at is not None
    file, line = edit.block_at
    block = next((d for d in config.directives if d.block and d.file == file and d.line == line), None)
    if block is None:
        raise ValueError(say("diff.line_not_pasted", name=edit.directive, file=file, line=line))
    inner = (*block.context, _block_label(block))
    child = next((d for d in config.directives if d.file == file and d.context == inner and d.line > line), None)
    fe.insert_in_block(block, child, _statement(edit))


def _unified(path: str, old: str, new: str) -> str:
    # Context never shows a redacted line: patch compares it with the real file (``diff_hunks``).
    lines = unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), header_path(path), lambda line: REDACTED in line
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):  # what diff(1) writes for a last line without newline
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def make_diff(config: NginxConfig, edits: list[Edit]) -> str:
    """One unified diff, a section per file, in the order the files appear in the dump.

    Raises ``ValueError`` (saying where) when an edit names a file or line the paste lacks.
    """
    files: dict[str, _FileEdits] = {}
    for edit in edits:
        if edit.block_at is not None:
            path = edit.block_at[0]
            if path not in config.files:
                raise ValueError(say("diff.file_not_pasted", path=path))
            _insert_at_block(config, edit, files.setdefault(path, _FileEdits(path, config.files[path])))
        else:
            _plan(config, edit, files)
    sections = []
    for path in config.files:
        fe = files.get(path)
        if fe is not None:
            new = fe.result()
            if new != fe.text:
                sections.append(_unified(path, fe.text, new))
    return "".join(sections)
