"""Label every line of a paste with its kind, in one pass.

State is what the previous lines established: the command announced by the last prompt,
whether an ``nginx -T`` dump is open (and its brace depth), whether ``nginx -t`` printed
its first verdict line. A prompt line joins the section its output starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.evidence.sections.config_scan import ConfigScan
from bot.evidence.sections.host_shapes import host_follows
from bot.evidence.sections.prompts import CLASSIFY_CHARS, clean, command_kind, prompt
from bot.evidence.sections.shapes import CONTINUATION, T_HEADER, is_question, loose_fits, strong_kind


@dataclass(slots=True)
class Label:
    """What one line is: its kind, the command or config path it names, its role in a section."""

    kind: str
    name: str | None = None
    role: str = ""  # "prompt", "header" (limits table or -T file), "row" (limits row)


class Classifier:
    """One pass over the lines; state is what the previous lines established."""

    def __init__(self) -> None:
        self.labels: list[Label | None] = []
        self.hint: str | None = None  # kind announced by the last prompt, until a blank line
        self.hint_cmd: str | None = None
        self.pending_prompt: int | None = None
        self.in_dump = False
        self.scan = ConfigScan()
        self.verdict_window = False  # between "syntax is ok" and "test is successful"
        self.prev: str | None = None  # kind of the previous line, None after a blank

    def run(self, lines: list[str]) -> list[Label | None]:
        """One label per line (None for a blank line or a bare code fence)."""
        for raw in lines:
            raw = raw[:CLASSIFY_CHARS]
            self.labels.append(self._line(clean(raw), raw))
        self._settle_prompt(None)
        return self.labels

    def _settle_prompt(self, kind: str | None) -> None:
        """A prompt line joins the section its output starts (or stands alone without output)."""
        if self.pending_prompt is None:
            return
        label = self.labels[self.pending_prompt]
        assert label is not None
        label.kind = kind or self.hint or "unknown"
        if label.kind == "nginx-T":
            label.name = None  # the dump is named after its main config file
        self.pending_prompt = None

    def _emit(self, label: Label) -> Label:
        self._settle_prompt(label.kind)
        self.prev = label.kind
        return label

    def _line(self, s: str, raw: str) -> Label | None:
        if not s:
            self._settle_prompt(None)
            self.hint = self.hint_cmd = None
            self.verdict_window = False
            self.prev = None
            return None
        if self.in_dump:
            label = self._dump_line(s, raw)
            if label is not None:
                return label
        header = T_HEADER.match(s)
        if header is not None:
            self.in_dump = True
            self.scan.reset()
            return self._emit(Label("nginx-T", header.group("path"), "header"))
        cmd = prompt(s)
        if cmd is not None:
            self._settle_prompt(None)
            self.hint, self.hint_cmd = command_kind(cmd), cmd
            self.verdict_window = False
            self.pending_prompt = len(self.labels)
            self.prev = None
            return Label("unknown", cmd, "prompt")
        return self._emit(self._content(s, raw))

    def _dump_line(self, s: str, raw: str) -> Label | None:
        header = T_HEADER.match(s) if s.startswith("# configuration file ") else None
        if header is not None:
            self.scan.reset()
            return self._emit(Label("nginx-T", header.group("path"), "header"))
        # Every prompt form ends in one of these characters; most config lines have none.
        if ("#" in s or "$" in s or "%" in s or ">" in s) and prompt(s, strict=True) is not None:
            self.in_dump = False
            return None
        if not self.scan.at_top or (strong_kind(s, raw) is None and not s.endswith("?") and self.scan.takes(s, raw)):
            self.scan.feed(s)
            return self._emit(Label("nginx-T"))
        self.in_dump = False
        return None

    def _content(self, s: str, raw: str) -> Label:
        if self.verdict_window and s.startswith("nginx: ["):
            return Label("nginx-t")
        kind = strong_kind(s, raw)
        if kind == "nginx-t":
            self.verdict_window = s.endswith("syntax is ok")
            return Label(kind)
        self.verdict_window = False
        if kind == "proc-limits":
            return Label(kind, role="header" if s.startswith("Limit") else "row")
        if kind == "ps" and self.hint == "ps-fpm" and "PID" in s:
            return Label("ps-fpm", role="header")  # the header of php-fpm's ps, announced by its prompt
        prev = self.labels[-1] if self.labels else None
        if kind == "ps-fpm" and prev is not None and prev.kind == "ps" and prev.role == "header":
            prev.kind = "ps-fpm"  # a ps header without a prompt, over php-fpm's rows
        if kind == "ps" and "PID" in s:
            return Label(kind, role="header")
        if kind is not None:
            return Label(kind)
        if self.hint is not None and loose_fits(self.hint, s):
            return Label(self.hint)
        if self.prev is not None and host_follows(self.prev, s):
            return Label(self.prev)  # a df row under its header, the users after namei, ls -l after openssl
        if self.prev == "errorlog" and (raw[:1].isspace() or CONTINUATION.match(s)):
            return Label("errorlog")  # a long line the terminal or chat client wrapped
        if is_question(s):
            return Label("question")
        return Label("unknown")
