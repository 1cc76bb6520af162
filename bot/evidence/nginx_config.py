"""Parse a pasted ``nginx -T`` dump (or a lone config file / server block) into directives.

``nginx -T`` prints every file it parsed, in first-seen order, each after a
``# configuration file PATH:`` header and followed by one blank line (NGINX-FACTS 4). We
split on those headers, keep each file's exact text (diffs are made against it), write the
files under a private temporary directory and let crossplane parse each one. Includes are
resolved here, against the files in the dump, never against the machine running the bot:
the paste describes the user's server, and ``/etc/nginx/conf.d/*.conf`` on our host is
not theirs.

Pastes are damaged in predictable ways (cut off mid-block, an extra ``}``, shell prompts
around the output, no headers at all, bytes from a binary file). None of that raises: the
damage becomes a ``ConfigIssue`` with file and line, the broken spot is patched in the
temporary copy only, and everything parseable is still extracted.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import crossplane
from crossplane.analyzer import DIRECTIVES as _KNOWN_DIRECTIVES
from crossplane.errors import NgxParserSyntaxError

PASTED = "(pasted)"
"""File name used when the paste has no ``# configuration file`` headers."""

PASS_DIRECTIVES = frozenset({"proxy_pass", "fastcgi_pass", "uwsgi_pass", "grpc_pass", "scgi_pass", "memcached_pass"})

_HEADER = re.compile(r"^# configuration file (?P<path>.+):[ \t]*$", re.MULTILINE)
# Lines a terminal copy adds around the dump: nginx's stderr verdicts, prompts, code fences.
_NOISE = re.compile(
    r"""^\s*(?:
        nginx:\ .*
      | ```.*
      | \$\ .*
      | sudo\ .*
      | [\w.-]+@[\w.-]+(?::[^\s]*)?\s*[$#](?:\s.*)?
      | \[[\w.-]+@[\w.-]+[^\]]*\][$#](?:\s.*)?
    )$""",
    re.VERBOSE,
)
# Control bytes (tab and newline excepted) and U+FFFD mean a line came from a binary file.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_MAX_REPAIRS = 200
# A line that, after its balanced quoted strings, still opens a quote (or escapes one).
_OPEN_QUOTE = re.compile(r"""^(?:[^'"\\\n]*+(?:'[^'\\\n]*'|"[^"\\\n]*")?+)*+['"\\]""", re.MULTILINE)
_INDENT_OR_COMMENT = re.compile(r"^[ \t]+(?:#.*)?|^#.*", re.MULTILINE)
# Top-level names that only make sense inside ``http {}``: a paste made of them is a snippet.
_HTTP_LEVEL = frozenset(
    {
        "server",
        "upstream",
        "map",
        "geo",
        "split_clients",
        "limit_req_zone",
        "limit_conn_zone",
        "proxy_cache_path",
        "log_format",
        "location",
    }
)
_MAIN_BLOCKS = frozenset({"http", "events", "stream", "mail"})


class ConfigParseError(ValueError):
    """Raised only when nothing in the text looks like NGINX configuration."""


@dataclass(frozen=True, slots=True)
class Directive:
    """One directive as nginx sees it, with the file and line it came from."""

    name: str
    args: tuple[str, ...]
    file: str
    line: int
    context: tuple[str, ...] = ()
    """Enclosing blocks, outermost first: ``('http', 'server', 'location /api')``."""
    block: bool = False
    """True when the directive opens a ``{}`` block."""

    @property
    def at(self) -> str:
        """``file:line``, the form nginx uses in its own messages."""
        return f"{self.file}:{self.line}"

    @property
    def protocol(self) -> str | None:
        """``http``, ``stream``, ``mail``, ``events`` or None for the main context."""
        return self.context[0].split(" ", 1)[0] if self.context else None


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """Something wrong with the paste itself, located as precisely as the damage allows."""

    message: str
    file: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.message} in {where}"


@dataclass(frozen=True, slots=True)
class Listen:
    """A ``listen`` directive split into address, port and the flags sizing cares about."""

    address: str
    """``*`` when only a port was given, ``[::]`` style for IPv6, ``unix:/path`` for sockets."""
    port: int | None
    ssl: bool
    http2: bool
    quic: bool
    default_server: bool
    file: str
    line: int
    context: str
    """``http`` or ``stream`` (``mail`` for mail proxies)."""
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProxyPass:
    """A ``*_pass`` directive: where requests go and which ``upstream {}`` block serves them."""

    directive: str
    target: str
    upstream: str | None
    file: str
    line: int
    context: str
    """``http`` or ``stream``."""


@dataclass(frozen=True, slots=True)
class UpstreamServer:
    """One ``server`` line of an ``upstream {}`` block."""

    address: str
    params: dict[str, str] = field(default_factory=dict)
    """``max_fails=3`` becomes ``{'max_fails': '3'}``; flags such as ``backup`` map to ``''``."""
    line: int = 0

    @property
    def backup(self) -> bool:
        """True for a ``backup`` server (used only when the others failed)."""
        return "backup" in self.params

    @property
    def down(self) -> bool:
        """True for a server marked ``down``."""
        return "down" in self.params

    @property
    def max_fails(self) -> int | None:
        """``max_fails`` when given and numeric; nginx's default is 1."""
        value = self.params.get("max_fails")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def fail_timeout(self) -> str | None:
        """``fail_timeout`` as written (``10s``); nginx's default is 10s."""
        return self.params.get("fail_timeout")


@dataclass(frozen=True, slots=True)
class Upstream:
    """An ``upstream NAME {}`` block."""

    name: str
    servers: tuple[UpstreamServer, ...]
    keepalive: int | None
    file: str
    line: int
    context: str
    """``http`` or ``stream``."""
    directives: tuple[Directive, ...] = ()
    """Every other directive inside the block (``least_conn``, ``zone``, ...)."""


@dataclass(frozen=True)
class NginxConfig:
    """Everything extracted from one paste. Built once by ``parse_dump``; read-only after."""

    files: dict[str, str]
    """Path -> exact original content (what ``make_diff`` diffs against), dump order."""
    main_file: str
    directives: list[Directive]
    """All directives in nginx's reading order, includes expanded where they appear."""
    errors: list[ConfigIssue]
    listens: list[Listen] = field(default_factory=list)
    proxies: list[ProxyPass] = field(default_factory=list)
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    """By name. A stream upstream whose name an http one already took is keyed ``stream:NAME``."""
    by_name: dict[str, list[Directive]] = field(default_factory=dict, repr=False, compare=False)
    """Index built during the one walk, so lookups never re-walk the tree."""

    def find(self, name: str) -> list[Directive]:
        """Every directive called ``name``, in reading order."""
        return list(self.by_name.get(name, ()))

    def _first(self, name: str, context: tuple[str, ...]) -> Directive | None:
        for d in self.by_name.get(name, ()):
            if d.context == context:
                return d
        return None

    @property
    def worker_processes(self) -> Directive | None:
        """``worker_processes`` in the main context (nginx refuses a duplicate)."""
        return self._first("worker_processes", ())

    @property
    def worker_connections(self) -> Directive | None:
        """``worker_connections`` inside ``events {}``."""
        return self._first("worker_connections", ("events",))

    @property
    def worker_rlimit_nofile(self) -> Directive | None:
        """``worker_rlimit_nofile`` in the main context."""
        return self._first("worker_rlimit_nofile", ())

    @property
    def user(self) -> Directive | None:
        """``user`` in the main context."""
        return self._first("user", ())

    @property
    def http2_enabled(self) -> bool:
        """True when any listener speaks HTTP/2 (``listen ... http2`` or ``http2 on``)."""
        if any(listen.http2 for listen in self.listens):
            return True
        return any(d.args[:1] == ("on",) for d in self.by_name.get("http2", ()))

    @property
    def http3_enabled(self) -> bool:
        """True when any listener speaks QUIC/HTTP/3 (each QUIC stream takes a connection slot)."""
        return any(listen.quic for listen in self.listens)

    @property
    def stream_proxy(self) -> bool:
        """True when a ``stream {}`` block proxies TCP/UDP."""
        return any(p.context == "stream" for p in self.proxies)

    @property
    def limit_req(self) -> list[Directive]:
        """``limit_req`` usages (the zones are ``find('limit_req_zone')``)."""
        return self.find("limit_req")

    @property
    def limit_conn(self) -> list[Directive]:
        """``limit_conn`` usages (the zones are ``find('limit_conn_zone')``)."""
        return self.find("limit_conn")

    @property
    def timeouts(self) -> dict[str, list[Directive]]:
        """Every ``*_timeout`` directive by name (proxy_read_timeout, keepalive_timeout, ...)."""
        return {name: list(ds) for name, ds in self.by_name.items() if name.endswith("_timeout")}

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable digest (the golden-fixture shape)."""

        def value(d: Directive | None) -> dict[str, Any] | None:
            return None if d is None else {"args": list(d.args), "at": d.at}

        return {
            "main_file": self.main_file,
            "files": list(self.files),
            "directive_count": len(self.directives),
            "user": value(self.user),
            "worker_processes": value(self.worker_processes),
            "worker_connections": value(self.worker_connections),
            "worker_rlimit_nofile": value(self.worker_rlimit_nofile),
            "http2_enabled": self.http2_enabled,
            "http3_enabled": self.http3_enabled,
            "stream_proxy": self.stream_proxy,
            "listens": [
                {
                    "address": li.address,
                    "port": li.port,
                    "ssl": li.ssl,
                    "http2": li.http2,
                    "quic": li.quic,
                    "default_server": li.default_server,
                    "context": li.context,
                    "at": f"{li.file}:{li.line}",
                }
                for li in self.listens
            ],
            "proxies": [
                {
                    "directive": p.directive,
                    "target": p.target,
                    "upstream": p.upstream,
                    "context": p.context,
                    "at": f"{p.file}:{p.line}",
                }
                for p in self.proxies
            ],
            "upstreams": {
                key: {
                    "name": u.name,
                    "context": u.context,
                    "keepalive": u.keepalive,
                    "at": f"{u.file}:{u.line}",
                    "servers": [{"address": s.address, "params": dict(s.params)} for s in u.servers],
                }
                for key, u in self.upstreams.items()
            },
            "errors": [{"message": e.message, "file": e.file, "line": e.line} for e in self.errors],
        }


# --------------------------------------------------------------------------- splitting


def _is_prose(line: str) -> bool:
    """A line a person typed around a snippet: its first word is no directive nginx knows."""
    stripped = line.strip()
    if not stripped or stripped[0] in "#}{":
        return False
    word = re.split(r"[\s;{]", stripped, maxsplit=1)[0]
    return word not in _KNOWN_DIRECTIVES


def _strip_noise(lines: list[str], *, leading: bool, prose: bool) -> list[str]:
    """Drop prompts, ``nginx: ...`` verdicts and code fences (and, optionally, prose) at the edges.

    Trailing blank lines go only together with noise: the last blank line of a dump is
    nginx's own and is removed later, exactly once.
    """
    start, end = 0, len(lines)
    if leading:
        while start < end and (
            not lines[start].strip() or _NOISE.match(lines[start]) or (prose and _is_prose(lines[start]))
        ):
            start += 1
    cut = end
    while cut > start and (
        not lines[cut - 1].strip() or _NOISE.match(lines[cut - 1]) or (prose and _is_prose(lines[cut - 1]))
    ):
        cut -= 1
    if any(lines[i].strip() for i in range(cut, end)):
        return [*lines[start:cut], "", ""]
    return lines[start:end]


def _split_dump(text: str) -> tuple[dict[str, str], list[ConfigIssue]]:
    """Cut the dump into files on its headers. Empty dict when there are no headers."""
    headers = list(_HEADER.finditer(text))
    files: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for i, m in enumerate(headers):
        path = m.group("path").strip()
        start = m.end() + 1
        last = i + 1 == len(headers)
        block = text[start:] if last else text[start : headers[i + 1].start()]
        if last:
            block = "\n".join(_strip_noise(block.split("\n"), leading=False, prose=False))
        # nginx writes one newline after each file's content: remove exactly that one.
        if block.endswith("\n"):
            block = block[:-1]
        if path in files:
            issues.append(
                ConfigIssue(
                    f"file printed twice in the paste (two dumps pasted together?); kept the first copy of {path}",
                    path,
                    None,
                )
            )
            continue
        files[path] = block
    return files, issues


# --------------------------------------------------------------------------- parsing one file


def _disk_path(root: str, path: str, index: int) -> str:
    """Where ``path`` lives in the temporary tree: mirrored when absolute and safe."""
    norm = os.path.normpath(path)
    if os.path.isabs(norm) and "\x00" not in norm:
        candidate = os.path.join(root, "tree", norm.lstrip("/"))
        if not os.path.isdir(candidate):
            return candidate
    return os.path.join(root, "other", f"{index}.conf")


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
            f"binary bytes (not text) on {count} line(s), first at line {first}; "
            "those lines were ignored - paste the text output of `nginx -T`",
            path,
            first,
        )
    )
    return "\n".join(lines)


def _lex(disk: str) -> tuple[list[tuple[str, int, bool]], NgxParserSyntaxError | None]:
    tokens: list[tuple[str, int, bool]] = []
    try:
        for token in crossplane.lex(disk):
            tokens.append(token)
    except NgxParserSyntaxError as e:
        return tokens, e
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
    for _ in range(_MAX_REPAIRS):
        tokens, err = _lex(disk)
        if err is not None and 'unexpected "}"' in err.strerror:
            lineno = err.lineno or 1
            lines = text.split("\n")
            seen = sum(1 for tok, ln, quoted in tokens if tok == "}" and not quoted and ln == lineno)
            cols = list(_unquoted_braces(lines[lineno - 1])) if lineno <= len(lines) else []
            issues.append(ConfigIssue('unexpected "}" (more closing than opening braces); ignored it', path, lineno))
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
                    f'directive "{pending[0]}" is not terminated by ";" - the file ends '
                    f"inside it at line {end_line} (truncated paste?)",
                    path,
                    pending[1],
                )
            )
            tail += ";"
        if stack:
            name, opened = stack[-1]
            issues.append(
                ConfigIssue(
                    f'unexpected end of file, expecting "}}": the "{name}" block opened at line '
                    f"{opened} never closes ({len(stack)} block(s) open at line {end_line}; "
                    "truncated paste? paste the whole `nginx -T` output)",
                    path,
                    opened,
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
            f'the text ends inside directive "{residue[0].split()[0]}" before its ";" (truncated paste?); ignored it',
            path,
            line,
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
        issues.append(ConfigIssue(f"could not parse: {err['error'] or 'unexpected end of file'}", path, err["line"]))
    return list(entry["parsed"])


def _snippet_wrap(stmts: list[dict[str, Any]]) -> tuple[str, str] | None:
    """Prefix/suffix that put a bare ``server {}`` (or ``location``) paste back inside ``http {}``."""
    names = {s["directive"] for s in stmts}
    if not names or names & _MAIN_BLOCKS or not names & _HTTP_LEVEL:
        return None
    if "location" in names and "server" not in names:
        return "http { server { ", "\n} }\n"
    return "http { ", "\n}\n"


# --------------------------------------------------------------------------- includes and walk


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """nginx's glob(3): ``*`` and ``?`` never cross ``/``; ``[...]`` is a class."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            close = pattern.find("]", i + 2)
            if close < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _block_name(stmt: dict[str, Any]) -> str:
    name: str = stmt["directive"]
    args: list[str] = stmt["args"]
    return name if not args else name + " " + " ".join(args)


@dataclass
class _Walk:
    """Mutable state of the single walk over the parsed files."""

    parsed: dict[str, list[dict[str, Any]]]
    prefix: str | None
    issues: list[ConfigIssue]
    directives: list[Directive] = field(default_factory=list)
    by_name: dict[str, list[Directive]] = field(default_factory=dict)
    listens: list[Listen] = field(default_factory=list)
    raw_proxies: list[Directive] = field(default_factory=list)
    upstreams: list[Upstream] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)

    def resolve(self, pattern: str, d: Directive) -> list[str]:
        """Files of the dump that ``include pattern`` reads, in the order nginx read them."""
        if not os.path.isabs(pattern) and self.prefix is not None:
            pattern = os.path.normpath(os.path.join(self.prefix, pattern))
        magic = any(c in pattern for c in "*?[")
        if magic:
            rx = _glob_regex(pattern)
            hits = [p for p in self.parsed if rx.match(p)]
            if not hits and self.prefix is None:
                tail = _glob_regex("*/" + pattern.lstrip("/"))
                hits = [p for p in self.parsed if tail.match(p)]
            return hits
        if pattern in self.parsed:
            return [pattern]
        if self.prefix is None or not os.path.isabs(pattern):
            hits = [p for p in self.parsed if p.endswith("/" + pattern.lstrip("/"))]
            if hits:
                return hits[:1]
        self.issues.append(
            ConfigIssue(
                f'include "{d.args[0]}" names a file that is not in the paste; '
                "paste the whole `nginx -T` output (it prints every included file)",
                d.file,
                d.line,
            )
        )
        return []

    def walk(self, stmts: Iterable[dict[str, Any]], file: str, ctx: tuple[str, ...], stack: tuple[str, ...]) -> None:
        for stmt in stmts:
            name: str = stmt["directive"]
            block = stmt.get("block")
            d = Directive(name, tuple(stmt["args"]), file, stmt["line"], ctx, block is not None)
            self.directives.append(d)
            found = self.by_name.get(name)
            if found is None:
                self.by_name[name] = [d]
            else:
                found.append(d)
            if name == "listen" and ctx and d.args:
                self.listens.append(_listen(d))
            elif name in PASS_DIRECTIVES and d.args:
                self.raw_proxies.append(d)
            elif name == "include" and d.args:
                for path in self.resolve(d.args[0], d):
                    if path in stack:
                        self.issues.append(
                            ConfigIssue(
                                f'include "{d.args[0]}" includes {path} again inside itself; skipped the loop',
                                d.file,
                                d.line,
                            )
                        )
                        continue
                    self.visited.add(path)
                    self.walk(self.parsed[path], path, ctx, (*stack, path))
            if block is not None:
                start = len(self.directives)
                inner_ctx = (*ctx, _block_name(stmt))
                self.walk(block, file, inner_ctx, stack)
                if name == "upstream" and d.args:
                    inner = [x for x in self.directives[start:] if x.context == inner_ctx]
                    self.upstreams.append(_upstream(d, inner))


def _listen(d: Directive) -> Listen:
    first = d.args[0]
    flags = set(d.args[1:])
    address, port = first, None
    if first.startswith("unix:"):
        pass
    elif first.startswith("["):
        host, _, rest = first.partition("]")
        address = host + "]"
        port = int(rest[1:]) if rest[1:].isdigit() else None
    elif first.isdigit():
        address, port = "*", int(first)
    elif ":" in first:
        host, _, tail = first.rpartition(":")
        address, port = host, int(tail) if tail.isdigit() else None
    protocol = d.protocol or "http"
    if port is None and protocol == "http" and not first.startswith("unix:"):
        port = 80  # nginx's default when only an address is given
    return Listen(
        address=address,
        port=port,
        ssl="ssl" in flags,
        http2="http2" in flags,
        quic="quic" in flags,
        default_server=bool(flags & {"default_server", "default"}),
        file=d.file,
        line=d.line,
        context=protocol,
        args=d.args,
    )


def _upstream(d: Directive, inner: list[Directive]) -> Upstream:
    servers: list[UpstreamServer] = []
    keepalive: int | None = None
    others: list[Directive] = []
    for x in inner:
        if x.name == "server" and x.args:
            params: dict[str, str] = {}
            for p in x.args[1:]:
                key, _, val = p.partition("=")
                params[key] = val
            servers.append(UpstreamServer(x.args[0], params, x.line))
        elif x.name == "keepalive" and x.args and x.args[0].isdigit():
            keepalive = int(x.args[0])
        else:
            others.append(x)
    return Upstream(
        name=d.args[0],
        servers=tuple(servers),
        keepalive=keepalive,
        file=d.file,
        line=d.line,
        context=d.protocol or "http",
        directives=tuple(others),
    )


def _upstream_of(target: str, names: set[str]) -> str | None:
    """The ``upstream {}`` a ``*_pass`` target names: scheme stripped, no port, no variables."""
    scheme = target.find("://")
    host = (target if scheme < 0 else target[scheme + 3 :]).split("/", 1)[0]
    if "$" in host or host.startswith("unix:"):
        return None
    return host if host in names else None


def _orphan_context(stmts: list[dict[str, Any]]) -> tuple[str, ...]:
    names = {s["directive"] for s in stmts}
    if names & _MAIN_BLOCKS:
        return ()
    if "location" in names and "server" not in names:
        return ("http", "server")
    if names & _HTTP_LEVEL:
        return ("http",)
    return ()


# --------------------------------------------------------------------------- entry point


def _looks_like_config(directives: list[Directive]) -> bool:
    return any(d.name in _KNOWN_DIRECTIVES for d in directives)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while the parse allocates.

    A 10,000-server dump makes about a million small dicts, lists and tuples, none of them in
    cycles; the collector's repeated passes over them cost more than a third of the parse.
    On the way out, freeze + unfreeze moves the survivors straight to the oldest generation
    (two list splices) instead of letting the next allocation scan them all as young objects.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


PARALLEL_MIN_BYTES = 1 << 20
"""Dumps at least this big, in several files, are parsed on every CPU (crossplane's lexer is
pure Python and most of the cost of a large dump)."""


def _parse_file(job: tuple[str, int, str, str]) -> tuple[str, list[dict[str, Any]], list[ConfigIssue], list[str]]:
    """Parse one file of the dump: (path, statements, issues, synthetic wrapper block names)."""
    root, index, path, content = job
    disk = _disk_path(root, path, index)
    file_issues: list[ConfigIssue] = []
    work = _blank_binary_lines(content, path, file_issues)
    stmts = _parse_text(disk, work, path, file_issues)
    wrapped: list[str] = []
    if path == PASTED:
        wrap = _snippet_wrap(stmts)
        if wrap is not None:
            wrapped = wrap[0].split()[::2]
            file_issues = [i for i in file_issues if "binary" in i.message]
            stmts = _parse_text(disk, wrap[0] + work + wrap[1], path, file_issues)
    return path, stmts, file_issues, wrapped


def _worth_parallel(files: dict[str, str]) -> bool:
    # Forking a multi-threaded process (the Slack bot) is unsafe; the CLI is single-threaded.
    return (
        len(files) >= 4
        and sum(len(c) for c in files.values()) >= PARALLEL_MIN_BYTES
        and threading.active_count() == 1
        and len(os.sched_getaffinity(0)) > 1
        and "fork" in mp.get_all_start_methods()
    )


def _parse_files_parallel(
    jobs: list[tuple[str, int, str, str]],
) -> list[tuple[str, list[dict[str, Any]], list[ConfigIssue], list[str]]]:
    """``_parse_file`` for every job on every CPU, results in job order."""
    workers = min(len(os.sched_getaffinity(0)), len(jobs))
    with mp.get_context("fork").Pool(workers) as pool:
        return pool.map(_parse_file, jobs, chunksize=max(1, len(jobs) // (workers * 4)))


def parse_dump(text: str) -> NginxConfig:
    """Parse ``nginx -T`` output, a lone nginx.conf or a lone ``server {}`` block. Never raises on damage.

    Raises ``ConfigParseError`` only when nothing in ``text`` looks like NGINX configuration.
    """
    with _gc_paused():
        return _parse_dump(text)


def _parse_dump(text: str) -> NginxConfig:
    text = text.replace("\r\n", "\n")
    files, issues = _split_dump(text)
    wrapped: list[str] = []
    if not files:
        kept = _strip_noise(text.split("\n"), leading=True, prose=True)
        files = {PASTED: "\n".join(kept)[:-1] if kept[-2:] == ["", ""] else "\n".join(kept)}
    main_file = next(iter(files))
    parsed: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="nginx-triage-") as root:
        jobs = [(root, index, path, content) for index, (path, content) in enumerate(files.items())]
        results = _parse_files_parallel(jobs) if _worth_parallel(files) else [_parse_file(job) for job in jobs]
        for path, stmts, file_issues, wrap_names in results:
            issues.extend(file_issues)
            parsed[path] = stmts
            if wrap_names:
                wrapped = wrap_names

    prefix = os.path.dirname(main_file) if os.path.isabs(main_file) else None
    state = _Walk(parsed=parsed, prefix=prefix, issues=issues)
    state.visited.add(main_file)
    main_stmts = parsed[main_file]
    ctx: tuple[str, ...] = ()
    for name in wrapped:  # step inside the synthetic ``http {`` / ``server {`` on line 1
        if len(main_stmts) == 1 and main_stmts[0]["directive"] == name and main_stmts[0].get("block") is not None:
            ctx = (*ctx, name)
            main_stmts = main_stmts[0]["block"]
    state.walk(main_stmts, main_file, ctx, (main_file,))
    for path, stmts in parsed.items():
        if path not in state.visited:
            ctx = _orphan_context(stmts)
            issues.append(
                ConfigIssue(
                    f"no include in the paste reads this file; read it as if it were in the "
                    f"{' > '.join(ctx) or 'main'} context",
                    path,
                    None,
                )
            )
            state.visited.add(path)
            state.walk(stmts, path, ctx, (path,))

    if PASTED in files and not _looks_like_config(state.directives):
        raise ConfigParseError(
            f"no NGINX configuration found in the pasted text ({text.count(chr(10)) + 1} line(s), no "
            "'# configuration file PATH:' headers and no known directive): paste the output of "
            "`sudo nginx -T` (it prints every config file with such headers), or the config file itself"
        )

    upstreams: dict[str, Upstream] = {}
    names: dict[str, set[str]] = {"http": set(), "stream": set()}
    for u in state.upstreams:
        names.setdefault(u.context, set()).add(u.name)
        key = u.name if u.name not in upstreams else f"{u.context}:{u.name}"
        upstreams.setdefault(key, u)
    proxies = [
        ProxyPass(
            directive=d.name,
            target=d.args[0],
            upstream=_upstream_of(d.args[0], names.get(d.protocol or "http", set())),
            file=d.file,
            line=d.line,
            context=d.protocol or "http",
        )
        for d in state.raw_proxies
    ]
    return NginxConfig(
        files=files,
        main_file=main_file,
        directives=state.directives,
        errors=issues,
        listens=state.listens,
        proxies=proxies,
        upstreams=upstreams,
        by_name=state.by_name,
    )
