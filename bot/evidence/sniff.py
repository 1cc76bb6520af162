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

import re
from dataclasses import dataclass

from bot.evidence.errorlog import parse_line, strip_wrappers

KINDS = (
    "errorlog",
    "nginx-T",
    "nginx-t",
    "proc-limits",
    "ulimit",
    "systemctl-show",
    "sysctl",
    "file-nr",
    "nproc",
    "ss-s",
    "ss-count",
    "ps",
    "question",
    "unknown",
)

_CLASSIFY_CHARS = 4096
"""Only the start of a line is looked at; its full text still goes into the section."""

_MAX_NAMES = 8
"""A merged section lists the commands behind it; a thousand ``$ tail`` prompts list the first few."""


@dataclass(frozen=True, slots=True)
class Section:
    """A run of lines of one kind. ``name`` is the command that printed it or the config path."""

    kind: str
    text: str
    start_line: int
    name: str | None = None

    @property
    def end_line(self) -> int:
        """1-based number of the section's last line in the paste."""
        return self.start_line + self.text.count("\n")


# --- shell prompts ----------------------------------------------------------------------

_PROMPT = re.compile(
    r"""^(?:
        (?P<ctx>
            \[[^\]\n]{1,80}\]                                              # [root@web1 ~]
          | [\w.-]{1,64}@[\w.-]{1,64}(?::[^\s$#%>]{0,200}|\ [~/][^\s$#%>]{0,200})?  # user@host:~/dir
          | (?:bash|sh|zsh|ash|ksh)-\d+(?:\.\d+)*                         # bash-5.1
          | [\w.-]{1,64}:[~/][^\s$#%>]{0,200}                             # web1:/ (Alpine)
          | [~/][^\s$#%>]{0,200}                                          # "/ #", "~ $"
        )\ ?
    )?
    (?P<sym>[$#%>❯])\s+(?P<cmd>\S.*)$""",
    re.VERBOSE,
)

_KNOWN_COMMANDS = frozenset(
    {
        "cat",
        "ulimit",
        "nproc",
        "ss",
        "sysctl",
        "systemctl",
        "ps",
        "pgrep",
        "nginx",
        "grep",
        "getconf",
        "netstat",
        "docker",
        "kubectl",
        "podman",
        "journalctl",
        "tail",
        "head",
        "less",
        "sudo",
        "doas",
        "su",
        "wc",
        "prlimit",
        "lsof",
        "service",
        "sh",
        "bash",
        "tee",
        "zcat",
    }
)
"""A bare ``#`` or ``>`` also starts config comments and markdown quotes: trust it only
before a command people actually run when asked for evidence."""


def _first_word(cmd: str) -> str:
    for word in cmd.split(None, 6):
        if word in ("sudo", "doas") or word.startswith("-"):
            continue
        return word.rsplit("/", 1)[-1]
    return ""


_BARE_COMMANDS = frozenset({"ulimit", "nproc", "cat", "sysctl", "systemctl", "ss", "ps", "pgrep", "getconf", "sudo"})
"""People also paste ``ulimit -n`` / ``1024`` without the prompt: a line that is exactly one of
these evidence commands still announces its output (prose ends with punctuation)."""


def _bare_command(line: str) -> str | None:
    words = line.split(None, 1)
    if not words or words[0] not in _BARE_COMMANDS or len(line) > 200 or line.endswith((".", "?", "!", ":", ",")):
        return None
    kind = command_kind(line)
    return line if kind is not None and kind not in ("errorlog", "nginx-t") else None


def _prompt(line: str, *, strict: bool = False) -> str | None:
    m = _PROMPT.match(line)
    if m is None:
        return None if strict else _bare_command(line)
    cmd = m.group("cmd").strip()
    if m.group("ctx") is None and m.group("sym") != "$" and _first_word(cmd) not in _KNOWN_COMMANDS:
        return None
    if strict and m.group("ctx") is None and m.group("sym") != "$":
        return None
    return cmd


def prompt_command(line: str) -> str | None:
    """The command typed after a shell prompt (``$ ulimit -n`` -> ``ulimit -n``), else None."""
    return _prompt(_clean(line[:_CLASSIFY_CHARS]))


_COMMAND_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cpu\.max\b|cpu\.cfs_quota_us"), "nproc"),
    (re.compile(r"/proc/.{0,200}?/limits\b"), "proc-limits"),
    (re.compile(r"file-nr"), "file-nr"),
    (re.compile(r"\bulimit\b"), "ulimit"),
    (re.compile(r"\bsystemctl\b.*\bshow\b"), "systemctl-show"),
    (re.compile(r"\bsysctl\b|/proc/sys/"), "sysctl"),
    (re.compile(r"\bnproc\b|_NPROCESSORS_ONLN|\bgrep\s+-c\s+\^?processor\b"), "nproc"),
    (re.compile(r"\b(?:ss|netstat)\b.*\|\s*wc\s+-l\b"), "ss-count"),
    (re.compile(r"\bss\s+(?:-\w*s\w*|--summary)\b"), "ss-s"),
    (re.compile(r"\b(?:ps|pgrep)\b"), "ps"),
    (re.compile(r"\bnginx(?:-debug)?\b.*\s-[tT]\b"), "nginx-t"),
    (re.compile(r"error\.log|\berror\b|\bjournalctl\b|\blogs\b"), "errorlog"),
)


def command_kind(cmd: str) -> str | None:
    """The kind of output a shell command prints, or None when it is not one we read."""
    for pattern, kind in _COMMAND_KINDS:
        if pattern.search(cmd):
            return kind
    return None


# --- line shapes ------------------------------------------------------------------------

_FENCE = re.compile(r"^```[\w+-]*$")
_T_HEADER = re.compile(r"^# configuration file (?P<path>\S.*?):$")
_T_VERDICT = re.compile(
    r"^nginx: (?:the configuration file \S.* syntax is ok|configuration file \S.* test (?:is successful|failed))$"
)
_LIMITS_HEADER = re.compile(r"^Limit\s+Soft Limit\s+Hard Limit\s+Units$")
_LIMITS_ROW = re.compile(r"^Max [a-z][a-z ]{1,30}?\s+(?:\d+|unlimited)\s+(?:\d+|unlimited)(?:\s+[a-z]+)?$")
_ULIMIT_ROW = re.compile(
    r"^(?:[A-Za-z][\w ./()-]{0,60}?\s*\((?:[^()]{0,40},\s*)?-[A-Za-z]\)"  # bash, busybox: "open files (-n)"
    r"|-[A-Za-z]:\s+[\w ./()-]{1,60}?)"  # zsh, old busybox: "-n: file descriptors"
    r"\s+(?:\d+|unlimited)$"
)
_ULIMIT_LOOSE = re.compile(r"^(?:\d+|unlimited|[a-z][\w ()/.-]{0,40}?\s+(?:\d+|unlimited)|ulimit: .*)$")
_SYSTEMD_LIMIT = re.compile(r"^Limit[A-Z]+(?:Soft)?=\S*$")
_SYSTEMD_ANY = re.compile(r"^[A-Z][A-Za-z0-9]*=")
_SYSCTL = re.compile(r"^(?:fs|net|kernel|vm|user)\.[\w.-]+\s*=\s*\S")
_SYSCTL_LOOSE = re.compile(r"^(?:\d+|[\w./-]+\s*[=:]\s*\S.*|sysctl: .*)$")
_FILE_NR = re.compile(r"^\d+\t\d+\t\d+$")
_FILE_NR_LOOSE = re.compile(r"^\d+\s+\d+\s+\d+$")
_NPROC_LINE = re.compile(r"^nproc:\s*\d+$")
_NUMBER = re.compile(r"^\d{1,19}$")
_CPU_MAX = re.compile(r"^(?:max|\d{1,19})\s\d{1,19}$")
_SS_SUMMARY = re.compile(
    r"^(?:Total:\s+\d+|TCP:\s+\d+\s+\(estab|Transport\s+Total\s+IP\s+IPv6$|(?:RAW|UDP|TCP|INET|FRAG|\*)\s+\d+\s+(?:\d+|-)\s+(?:\d+|-)$)"
)
_PS_NGINX = re.compile(
    r"^(?:\S+\s+){0,12}?\d+\s.*?\bnginx: (?:master|worker|cache manager|cache loader|\w+ agent) process"
)
_PS_HEADER = re.compile(r"^(?:[A-Z%]+\s+){0,12}?PID\s+(?:[A-Z%]+\s+){0,12}?(?:CMD|COMMAND|ARGS)$")
_PS_LOOSE = re.compile(r"^(?:\d+(?:\s.*)?|\S+\s+\d+\s.*)$")
_COMMAND_ERROR = re.compile(
    r"^[\w./-]{1,64}: .{0,400}(?:No such file|Permission denied|not found|not permitted|cannot )"
)
_QUESTION_START = re.compile(
    r"^(?:how|why|what|should|can|could|would|is|are|does|do|did|will|where|which|when|any|anyone)\b(?!')",
    re.IGNORECASE,
)
_MENTION = re.compile(r"^(?:<@\w+>[,:]?\s*)+")
_CONTINUATION = re.compile(r"^(?:,|(?:while|client:|server:|request:|upstream:|host:|referrer:)\s)")
_PROSE = re.compile(r"[A-Za-z]{2}")


def _clean(line: str) -> str:
    """The line without surrounding blanks and glued markdown code fences."""
    s = line.strip()
    if s.startswith("```"):
        s = "" if _FENCE.match(s) else s[3:].lstrip()
    if s.endswith("```"):
        s = s[:-3].rstrip()
    return s


def _is_question(s: str) -> bool:
    s = _MENTION.sub("", s)
    return s.endswith("?") or _QUESTION_START.match(s) is not None


def _loose_fits(kind: str, s: str) -> bool:
    """Whether ``s`` fits the output of a command of this kind (used only after its prompt)."""
    if _COMMAND_ERROR.match(s):
        return True  # "cat: /proc/9/limits: No such file": the parser explains what to do
    if kind == "ulimit":
        return _ULIMIT_LOOSE.match(s) is not None
    if kind == "nproc":  # `nproc; cat /sys/fs/cgroup/cpu.max` prints a count and "QUOTA PERIOD"
        return _NUMBER.match(s) is not None or _CPU_MAX.match(s) is not None
    if kind == "ss-count":
        return _NUMBER.match(s) is not None
    if kind == "sysctl":
        return _SYSCTL_LOOSE.match(s) is not None
    if kind == "file-nr":
        return _FILE_NR_LOOSE.match(s) is not None
    if kind == "systemctl-show":
        return _SYSTEMD_ANY.match(s) is not None
    if kind == "ps":
        return _PS_LOOSE.match(s) is not None
    if kind == "errorlog":
        return not _is_question(s)
    return False


def _strong_kind(s: str, raw: str) -> str | None:
    """Kinds a line proves on its own, whatever precedes it."""
    if _T_VERDICT.match(s):
        return "nginx-t"
    if _LIMITS_HEADER.match(s) or (s.startswith("Max ") and _LIMITS_ROW.match(s)):
        return "proc-limits"
    if parse_line(raw).has_prefix:
        return "errorlog"
    if _ULIMIT_ROW.match(s):
        return "ulimit"
    if s.startswith("Limit") and _SYSTEMD_LIMIT.match(s):
        return "systemctl-show"
    if _SYSCTL.match(s):
        return "sysctl"
    if _FILE_NR.match(s):
        return "file-nr"
    if _NPROC_LINE.match(s):
        return "nproc"
    if _SS_SUMMARY.match(s):
        return "ss-s"
    if "nginx: " in s and _PS_NGINX.match(s):
        return "ps"
    if "PID" in s and _PS_HEADER.match(s):
        return "ps"
    return None


# --- nginx -T blocks --------------------------------------------------------------------

_CONFIG_TAIL = re.compile(r"[;{}]\s*(?:#.*)?$")
_DIRECTIVE_OPEN = re.compile(r"^[a-z_][\w.-]*\s+\S")


class _ConfigScan:
    """Brace depth and quoting across the lines of one file in an ``nginx -T`` dump.

    A file nginx parsed always closes its braces, so depth 0 marks where a dump may end;
    inside a block anything (Lua, a map, a types table) is config.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""
        self.pending = False  # a directive whose arguments continue on the next line

    def reset(self) -> None:
        self.depth, self.quote, self.pending = 0, "", False

    @property
    def at_top(self) -> bool:
        return self.depth == 0 and not self.quote and not self.pending

    def feed(self, s: str) -> None:
        if not self.quote and "#" not in s and '"' not in s and "'" not in s:
            # Most config lines have no quotes or comments: count braces in C, not per char.
            opens, closes = s.count("{"), s.count("}")
            if opens or closes:
                self.depth = max(0, self.depth + opens - closes)
            if self.depth == 0:
                body = s.rstrip()
                self.pending = bool(body) and not body.endswith((";", "{", "}"))
            return
        token_start = True
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if self.quote:
                if c == "\\":
                    i += 1
                elif c == self.quote:
                    self.quote = ""
                i += 2 if c == "\\" else 1
                continue
            if c == "#" and token_start:
                break
            if c in "\"'" and token_start:
                self.quote = c
            elif c == "{":
                self.depth += 1
            elif c == "}":
                self.depth = max(0, self.depth - 1)
            token_start = c.isspace() or c in ";{}"
            i += 1
        if self.depth == 0 and not self.quote:
            body = s.split(" #", 1)[0].rstrip() if not s.startswith("#") else ""
            self.pending = bool(body) and not body.endswith((";", "{", "}"))

    def takes(self, s: str, raw: str) -> bool:
        """Whether a line at depth 0 still belongs to the dump."""
        if self.pending:
            return raw[:1].isspace() or s[:1] in "\"'$"
        if s.startswith("#") or s == "}":
            return True
        return _CONFIG_TAIL.search(s) is not None or _DIRECTIVE_OPEN.match(s) is not None


# --- classification ---------------------------------------------------------------------


@dataclass(slots=True)
class _Label:
    kind: str
    name: str | None = None
    role: str = ""  # "prompt", "header" (limits table or -T file), "row" (limits row)


class _Classifier:
    """One pass over the lines; state is what the previous lines established."""

    def __init__(self) -> None:
        self.labels: list[_Label | None] = []
        self.hint: str | None = None  # kind announced by the last prompt, until a blank line
        self.hint_cmd: str | None = None
        self.pending_prompt: int | None = None
        self.in_dump = False
        self.scan = _ConfigScan()
        self.verdict_window = False  # between "syntax is ok" and "test is successful"
        self.prev: str | None = None  # kind of the previous line, None after a blank

    def run(self, lines: list[str]) -> list[_Label | None]:
        for raw in lines:
            raw = raw[:_CLASSIFY_CHARS]
            self.labels.append(self._line(_clean(raw), raw))
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

    def _emit(self, label: _Label) -> _Label:
        self._settle_prompt(label.kind)
        self.prev = label.kind
        return label

    def _line(self, s: str, raw: str) -> _Label | None:
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
        header = _T_HEADER.match(s)
        if header is not None:
            self.in_dump = True
            self.scan.reset()
            return self._emit(_Label("nginx-T", header.group("path"), "header"))
        cmd = _prompt(s)
        if cmd is not None:
            self._settle_prompt(None)
            self.hint, self.hint_cmd = command_kind(cmd), cmd
            self.verdict_window = False
            self.pending_prompt = len(self.labels)
            self.prev = None
            return _Label("unknown", cmd, "prompt")
        return self._emit(self._content(s, raw))

    def _dump_line(self, s: str, raw: str) -> _Label | None:
        header = _T_HEADER.match(s) if s.startswith("# configuration file ") else None
        if header is not None:
            self.scan.reset()
            return self._emit(_Label("nginx-T", header.group("path"), "header"))
        # Every prompt form ends in one of these characters; most config lines have none.
        if ("#" in s or "$" in s or "%" in s or ">" in s) and _prompt(s, strict=True) is not None:
            self.in_dump = False
            return None
        if not self.scan.at_top or (_strong_kind(s, raw) is None and not s.endswith("?") and self.scan.takes(s, raw)):
            self.scan.feed(s)
            return self._emit(_Label("nginx-T"))
        self.in_dump = False
        return None

    def _content(self, s: str, raw: str) -> _Label:
        if self.verdict_window and s.startswith("nginx: ["):
            return _Label("nginx-t")
        kind = _strong_kind(s, raw)
        if kind == "nginx-t":
            self.verdict_window = s.endswith("syntax is ok")
            return _Label(kind)
        self.verdict_window = False
        if kind == "proc-limits":
            return _Label(kind, role="header" if s.startswith("Limit") else "row")
        if kind is not None:
            return _Label(kind)
        if self.hint is not None and _loose_fits(self.hint, s):
            return _Label(self.hint)
        if self.prev == "errorlog" and (raw[:1].isspace() or _CONTINUATION.match(s)):
            return _Label("errorlog")  # a long line the terminal or chat client wrapped
        if _is_question(s):
            return _Label("question")
        return _Label("unknown")


def _questions_take_paragraphs(lines: list[str], labels: list[_Label | None]) -> None:
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
            or (label.kind == "unknown" and not label.role and _PROSE.search(lines[k][:_CLASSIFY_CHARS]))
            for k, label in enumerate(labels[i:j], start=i)
            if label is not None
        ):
            for label in run:
                label.kind = "question"
        i = j


def _is_shipped(raw: str) -> bool:
    """Whether a log shipper (compose, journald, the runtime) put a prefix before the line."""
    s = raw[:_CLASSIFY_CHARS].strip().lstrip(">*` ")
    return bool(s) and strip_wrappers(s) != s


def _shipped_lines_join_logs(lines: list[str], labels: list[_Label | None]) -> None:
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


def _starts_new(label: _Label, kind: str, rows: int) -> bool:
    if label.kind != kind:
        return True
    # two limits tables (master and worker) must stay apart: each is one process
    return kind == "proc-limits" and label.role in ("prompt", "header") and rows > 0


def sniff(text: str) -> list[Section]:
    """Split a paste into typed sections, in order; never raises."""
    lines = text.splitlines()
    labels = _Classifier().run(lines)
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
