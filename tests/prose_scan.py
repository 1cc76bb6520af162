"""Find user-facing NGINX operations prose in Python source (knowledge belongs in ``kb/``).

Every string literal of a module is read with ``ast`` (f-strings with their fields as
``{}``, implicitly joined literals as one); docstrings and other bare string statements,
and ``description=`` texts of schema fields, are documentation, not output, and are skipped.
A string is flagged when it is a sentence of several words that talks NGINX operations:
a directive, an nginx/systemd/docker command, reload/restart, descriptor limits.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

NGINX_TERMS = re.compile(
    r"""
      \bworker_(?:connections|rlimit_nofile|processes)\b
    | \b(?:client_max_body_size|client_body_\w+|keepalive\w*|server_names?\w*|error_log|access_log)\b
    | \b(?:proxy|fastcgi|uwsgi|scgi|grpc)_\w+
    | \bnginx\s+-[tTsVq]\b | \bnginx\.conf\b | \bconf\.d\b | sites-enabled
    | \breload(?:s|ed|ing)?\b | \brestart(?:s|ed|ing)?\b | daemon-reload
    | \bsystemctl\b | \bjournalctl\b | \bLimitNOFILE\w*\b | \blimits\.conf\b | pam_limits
    | \bulimit\b | \bsetrlimit\b | \bgetrlimit\b | \bRLIMIT_NOFILE\b | \bfs\.(?:nr_open|file-max)\b
    | \bopen[- ]files?\b | \bMax\ open\ files\b | /proc/\S*limits | \bpgrep\b
    | \bworker\ process(?:es)?\b | \bmaster\ process\b
    | \bdocker\b | \bkubectl\b | \bConfigMap\b | \bingress-nginx\b | --ulimit
    | \bupstream\b | \berror\.log\b | \btail\ -n\b | \bstub_status\b
    """,
    re.VERBOSE,
)
"""What NGINX operations prose mentions."""

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_COMMAND = re.compile(
    r"^(?:sudo\s+)?(?:cat|systemctl|sysctl|ps|pgrep|nginx|docker|kubectl|tail|grep|ss|getconf|curl)\s"
)
_SENTENCE_PUNCTUATION = re.compile(r"[,:;.] ")
_REGEX_LIKE = re.compile(r"\\[bdsSwWAZ]|\(\?[:P<=!i]|\[\^|\{\d+,\d*\}")
MIN_WORDS = 5
"""Fewer words is a label or a command, not a sentence."""


@dataclass(frozen=True)
class Prose:
    """One flagged string: where it is and its text (f-string fields as ``{}``)."""

    file: str
    line: int
    text: str


def looks_like_command(text: str) -> bool:
    """A shell command line (``systemctl show nginx -p LimitNOFILE``), not a sentence about one."""
    bare = _QUOTED.sub("", text)
    return bool(_COMMAND.match(bare)) and not _SENTENCE_PUNCTUATION.search(bare)


def is_nginx_prose(text: str) -> bool:
    """A multi-word sentence that talks NGINX operations (not a regex, not a bare command)."""
    if len(_WORD.findall(text)) < MIN_WORDS or _REGEX_LIKE.search(text) or looks_like_command(text):
        return False
    return bool(NGINX_TERMS.search(text))


def _documentation(tree: ast.AST) -> set[int]:
    """ids of string nodes that are documentation: bare string statements, field descriptions."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            skip.add(id(node.value))
        if isinstance(node, ast.keyword) and node.arg == "description":
            skip.add(id(node.value))
    return skip


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def strings(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal that is not documentation."""
    tree = ast.parse(source)
    skip = _documentation(tree)
    inner = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inner or not isinstance(node, ast.expr):
            continue
        text = _text(node)
        if text is not None:
            yield node.lineno, text


def scan(root: Path, base: Path) -> list[Prose]:
    """Every NGINX prose string in the ``*.py`` files under ``root`` (paths relative to ``base``)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(base).as_posix()
        found += [Prose(rel, line, t) for line, t in strings(path.read_text(encoding="utf-8")) if is_nginx_prose(t)]
    return found


@dataclass(frozen=True)
class Allowed:
    """A string that may stay in Python, and why."""

    file: str
    text: str
    reason: str


def load_allowlist(path: Path) -> list[Allowed]:
    """The allowlist file: ``- {file, text, reason}`` entries; every reason must say something."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = [Allowed(e["file"], e["text"], e["reason"]) for e in entries]
    for a in out:
        if len(a.reason.split()) < 3:
            raise ValueError(f"{path}: {a.file}: allowlist reason {a.reason!r} says too little")
    return out


def unexplained(found: list[Prose], allowed: list[Allowed]) -> tuple[list[Prose], list[Allowed]]:
    """(flagged strings not on the allowlist, allowlist entries that match nothing any more)."""
    keys = {(a.file, a.text) for a in allowed}
    seen = {(p.file, p.text) for p in found}
    return [p for p in found if (p.file, p.text) not in keys], [a for a in allowed if (a.file, a.text) not in seen]
