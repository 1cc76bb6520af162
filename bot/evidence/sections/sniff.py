"""Split one paste into typed sections of evidence, in order.

People answer "what do your limits look like?" with one big paste: a few error-log lines,
an ``nginx -T`` dump, a ``/proc/PID/limits`` table, the output of ``nproc``, and a question
at the end, often with the shell prompts still in it. Each section goes to its own parser
(``errorlog``, the config reader, ``limits``), so the paste is cut here first.

What a line is comes from the line itself when its shape is unmistakable (an nginx prefix,
a limits row, ``LimitNOFILE=``); otherwise from the command in the shell prompt just
above it (``$ nproc`` then ``8``). A line that is neither is ``unknown``: a bare number
with no prompt could be anything, and a wrong guess would feed a wrong sizing.

Lines are ``str.splitlines()`` of the paste. Every non-blank line lands in exactly one
section; blank lines (and markdown code fences) only appear inside a section, between two
of its lines. Work is one pass over the lines with bounded work per line, and nothing in
here raises: a paste is never refused, only labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.evidence.errorlog import strip_wrappers
from bot.evidence.sections.classify import Classifier, Label
from bot.evidence.sections.prompts import CLASSIFY_CHARS
from bot.evidence.sections.shapes import PROSE

_MAX_NAMES = 8
"""A merged section lists the commands behind it; a thousand ``$ tail`` prompts list the first few."""


@dataclass(frozen=True, slots=True)
class Section:
    """A run of lines of one kind. ``name`` is the command that printed it or the config path.

    ``kind`` is a key of ``bot.evidence.kinds.SECTION_KINDS``, which says how it is read.
    """

    kind: str
    text: str
    start_line: int
    name: str | None = None

    @property
    def end_line(self) -> int:
        """1-based number of the section's last line in the paste."""
        return self.start_line + self.text.count("\n")


def _questions_take_paragraphs(lines: list[str], labels: list[Label | None]) -> None:
    """Prose around a question line is part of the question ("We see 502s. Why?")."""
    i, n = 0, len(labels)
    while i < n:
        if labels[i] is None:
            i += 1
            continue
        j = i
        while j < n and labels[j] is not None:
            j += 1
        run = [label for label in labels[i:j] if label is not None]
        if any(label.kind == "question" for label in run) and all(
            label.kind == "question"
            or (label.kind == "unknown" and not label.role and PROSE.search(lines[k][:CLASSIFY_CHARS]))
            for k, label in enumerate(labels[i:j], start=i)
            if label is not None
        ):
            for label in run:
                label.kind = "question"
        i = j


def _is_shipped(raw: str) -> bool:
    """Whether a log shipper (compose, journald, the runtime) put a prefix before the line."""
    s = raw[:CLASSIFY_CHARS].strip().lstrip(">*` ")
    return bool(s) and strip_wrappers(s) != s


def _shipped_lines_join_logs(lines: list[str], labels: list[Label | None]) -> None:
    """``nginx_1 | /docker-entrypoint.sh: ...`` next to nginx lines is the same container's log."""
    i, n = 0, len(labels)
    while i < n:
        j = i
        while j < n and labels[j] is not None:
            j += 1
        run = range(i, j)
        if any((label := labels[k]) is not None and label.kind == "errorlog" for k in run):
            for k in run:
                label = labels[k]
                if label is not None and label.kind == "unknown" and not label.role and _is_shipped(lines[k]):
                    label.kind = "errorlog"
        i = j + 1


def _starts_new(label: Label, kind: str, rows: int) -> bool:
    if label.kind != kind:
        return True
    # two limits tables (master and worker) must stay apart: each is one process
    return kind == "proc-limits" and label.role in ("prompt", "header") and rows > 0


def sniff(text: str) -> list[Section]:
    """Split a paste into typed sections, in order; never raises."""
    lines = text.splitlines()
    labels = Classifier().run(lines)
    _shipped_lines_join_logs(lines, labels)
    _questions_take_paragraphs(lines, labels)
    sections: list[Section] = []
    start = last = -1
    kind = ""
    names: list[str] = []
    rows = 0

    def flush() -> None:
        if start < 0:
            return
        name = names[0] if kind == "nginx-T" and names else ("; ".join(names) or None)
        sections.append(Section(kind, "\n".join(lines[start : last + 1]), start + 1, name))

    for i, label in enumerate(labels):
        if label is None:
            continue
        if start < 0 or _starts_new(label, kind, rows):
            flush()
            start, kind, names, rows = i, label.kind, [], 0
        last = i
        if label.name is not None and len(names) < _MAX_NAMES and label.name not in names:
            names.append(label.name)
        rows += label.role == "row"
    flush()
    return sections
