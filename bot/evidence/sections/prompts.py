"""Shell prompts in a paste, and what the command after one prints.

People paste the prompt with the output (``[root@web1 ~]# ulimit -n`` then ``1024``); the
command says what the following lines are, and the parsers read it too (``cat
/proc/1234/limits`` names the pid, ``ulimit -Hn`` says the number is the hard limit).
"""

from __future__ import annotations

import re

from bot.lazy_re import lazy_compile

CLASSIFY_CHARS = 4096
COMMAND_CHARS = 1024
"""A typed command longer than this is not one whose output we read."""
"""Only the start of a line is looked at; its full text still goes into the section."""

_FENCE = lazy_compile(r"^```[\w+-]*$")


def clean(line: str) -> str:
    """The line without surrounding blanks and glued markdown code fences."""
    s = line.strip()
    if s.startswith("```"):
        s = "" if _FENCE.match(s) else s[3:].lstrip()
    if s.endswith("```"):
        s = s[:-3].rstrip()
    return s


_PROMPT = lazy_compile(
    r"""^(?:
        (?P<ctx>
            \[[^\]\n]{1,80}\]                                              # [root@web1 ~]
          | [\w.-]{1,64}@[\w.-]{1,64}(?::[^\s$#%>]{0,200}|\ [~/][^\s$#%>]{0,200})?  # user@host:~/dir
          | (?:bash|sh|zsh|ash|ksh)-[0-9]{1,20}(?:\.[0-9]{1,20})*                         # bash-5.1
          | [\w.-]{1,64}:[~/][^\s$#%>]{0,200}                             # web1:/ (Alpine)
          | [~/][^\s$#%<>]{0,200}                                         # "/ #", "~ $" (never "~<redacted> x")
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
        "free",
        "getent",
        "df",
        "namei",
        "openssl",
        "ls",
        "php-fpm",
        "php-fpm8.2",
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


_BARE_COMMANDS = frozenset(
    {"ulimit", "nproc", "cat", "sysctl", "systemctl", "ss", "ps", "pgrep", "getconf", "sudo", "free", "getent"}
)
"""People also paste ``ulimit -n`` / ``1024`` without the prompt: a line that is exactly one of
these evidence commands still announces its output (prose ends with punctuation)."""


def _bare_command(line: str) -> str | None:
    words = line.split(None, 1)
    if not words or words[0] not in _BARE_COMMANDS or len(line) > 200 or line.endswith((".", "?", "!", ":", ",")):
        return None
    kind = command_kind(line)
    return line if kind is not None and kind not in ("errorlog", "nginx-t") else None


def prompt(line: str, *, strict: bool = False) -> str | None:
    """The command after a shell prompt on an already cleaned line; ``strict`` refuses bare commands."""
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
    return prompt(clean(line[:CLASSIFY_CHARS]))


_COMMAND_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (lazy_compile(r"cpu\.max\b|cpu\.cfs_quota_us"), "nproc"),
    (lazy_compile(r"\bsystemctl\s+(?:status|is-active)\b|/proc/(?:1|self)/cgroup\b"), "run-env"),
    (lazy_compile(r"\bdf\b(?:\s+-[a-zA-Z]{1,8}){0,4}(?:\s|$)"), "df"),
    (lazy_compile(r"\bnamei\b|\bps\b.{0,80}\buser=\s"), "namei"),
    (lazy_compile(r"/[\w.-]{0,100}access[._-]?log\b"), "access-log"),  # a file such as /var/log/nginx/access.log
    (lazy_compile(r"\bopenssl\s+x509\b|\bls\b.{0,400}(?:\.(?:crt|pem|key|cer)\b|\bCERT\b|\bKEY\b)"), "x509"),
    (lazy_compile(r"/proc/.{0,200}?/limits\b"), "proc-limits"),
    (lazy_compile(r"file-nr"), "file-nr"),
    (lazy_compile(r"\bulimit\b"), "ulimit"),
    (lazy_compile(r"\bsystemctl\b.{0,512}\bshow\b"), "systemctl-show"),
    (lazy_compile(r"\bsysctl\b|/proc/sys/"), "sysctl"),
    (lazy_compile(r"\bnproc\b|_NPROCESSORS_ONLN|\bgrep\s+-c\s+\^?processor\b"), "nproc"),
    (lazy_compile(r"\b(?:ss|netstat)\b.{0,512}\|\s*wc\s+-l\b"), "ss-count"),
    (lazy_compile(r"\bss\s+(?:-[a-z]*l[a-z]*\b|--listening\b)"), "ss-listen"),
    (lazy_compile(r"\bphp-fpm[0-9.]{0,6}\s+-tt?\b|/pool\.d/|php-fpm\.d/|\bpm\.max_children\b"), "php-fpm-pool"),
    (lazy_compile(r"\b(?:ps|pgrep)\b.{0,200}\[?p\]?hp-fpm"), "ps-fpm"),
    (lazy_compile(r"\bfree(?:\s+-[bkmgh]+)?\s*$"), "free"),
    (lazy_compile(r"\bgetent\s+a?hosts\b"), "getent"),
    (lazy_compile(r"\bnginx(?:-debug)?\b.{0,512}\s-[vV]\b"), "nginx-V"),
    (lazy_compile(r"\bss\s+(?:-\w*s\w*|--summary)\b"), "ss-s"),
    (lazy_compile(r"\b(?:ps|pgrep)\b"), "ps"),
    (lazy_compile(r"\bnginx(?:-debug)?\b.{0,512}\s-[tT]\b"), "nginx-t"),
    (lazy_compile(r"error\.log|\berror\b|\bjournalctl\b|\blogs\b"), "errorlog"),
)


def command_kind(cmd: str) -> str | None:
    """The kind of output a shell command prints, or None when it is not one we read."""
    cmd = cmd[:COMMAND_CHARS]  # ``.*`` patterns below re-read the rest from every word
    for pattern, kind in _COMMAND_KINDS:
        if pattern.search(cmd):
            return kind
    return None
