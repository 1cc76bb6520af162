"""One walk over the parsed files in nginx's reading order: includes resolved against the
files of the dump (never the bot's own disk), every directive indexed, listeners, upstreams
and ``*_pass`` targets extracted on the way."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.evidence.nginx_config.model import (
    HTTP_LEVEL,
    MAIN_BLOCKS,
    PASS_DIRECTIVES,
    PASTED,
    ConfigIssue,
    Directive,
    Listen,
    Upstream,
    UpstreamServer,
)


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
class Walk:
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
                partial=d.file != PASTED,  # a lone file's includes were never pasted; a dump prints them all
            )
        )
        return []

    def walk(self, stmts: Iterable[dict[str, Any]], file: str, ctx: tuple[str, ...], stack: tuple[str, ...]) -> None:
        """Record every statement in reading order, descending into blocks and the files includes name."""
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


def upstream_of(target: str, names: set[str]) -> str | None:
    """The ``upstream {}`` a ``*_pass`` target names: scheme stripped, no port, no variables."""
    scheme = target.find("://")
    host = (target if scheme < 0 else target[scheme + 3 :]).split("/", 1)[0]
    if "$" in host or host.startswith("unix:"):
        return None
    return host if host in names else None


def orphan_context(stmts: list[dict[str, Any]]) -> tuple[str, ...]:
    """The context a file no include reads was most likely written for, from the blocks it holds."""
    names = {s["directive"] for s in stmts}
    if names & MAIN_BLOCKS:
        return ()
    if "location" in names and "server" not in names:
        return ("http", "server")
    if names & HTTP_LEVEL:
        return ("http",)
    return ()
