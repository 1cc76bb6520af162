"""One walk over the parsed files in nginx's reading order: includes resolved against the
files of the dump (never the bot's own disk), every directive indexed, listeners, upstreams
and ``*_pass`` targets extracted on the way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.evidence.nginx_config.includes import (
    MAX_BLOCK_DEPTH,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDED_FILES,
    IncludeGraph,
)
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
from bot.evidence.numbers import to_int
from bot.knowledge.texts import say


def _block_name(stmt: dict[str, Any]) -> str:
    name: str = stmt["directive"]
    args: list[str] = stmt["args"]
    return name if not args else name + " " + " ".join(args)


@dataclass
class Walk:
    """Mutable state of the single walk over the parsed files, and what it has spent."""

    parsed: dict[str, list[dict[str, Any]]]
    prefix: str | None
    issues: list[ConfigIssue]
    directives: list[Directive] = field(default_factory=list)
    by_name: dict[str, list[Directive]] = field(default_factory=dict)
    listens: list[Listen] = field(default_factory=list)
    raw_proxies: list[Directive] = field(default_factory=list)
    upstreams: list[Upstream] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    """Files some include (or the walk's start) read: the others are orphans."""
    graph: IncludeGraph = field(init=False)
    budget: int = field(init=False)
    included: int = 0
    read_in_loop: set[str] = field(default_factory=set)
    """Files already read through an include that closes a loop: read once, never again."""
    stopped: bool = False
    reported: set[tuple[str, object]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.graph = IncludeGraph(self.parsed, self.prefix)
        self.budget = self.graph.expansion_budget()

    def _issue(self, key: str, d: Directive, *, partial: bool = True, once: object = None, **values: Any) -> None:
        """Report text ``key`` at ``d`` once (or once per ``once``), however often the walk passes it."""
        seen = (key, once if once is not None else (d.file, d.line))
        if seen in self.reported:
            return
        self.reported.add(seen)
        self.issues.append(ConfigIssue(say(key, **values), d.file, d.line, partial=partial))

    def resolve(self, pattern: str, d: Directive) -> list[str]:
        """Files of the dump that ``include pattern`` reads, in the order nginx read them."""
        hits = self.graph.resolve(pattern)
        if hits is None:
            # a lone file's includes were never pasted; a dump prints them all
            self._issue("evidence.include_not_in_paste", d, partial=d.file != PASTED, pattern=pattern)
            return []
        return hits

    def _include(self, d: Directive, ctx: tuple[str, ...], stack: frozenset[str], depth: int) -> None:
        """Read the files ``include`` names, inside the budgets, each loop's files once."""
        for path in self.resolve(d.args[0], d):
            if self.stopped:
                return
            if self.graph.in_loop(d.file, path):
                self._issue(
                    "evidence.include_loop", d, once=self.graph.component.get(path), pattern=d.args[0], target=path
                )
                if path in stack or path in self.read_in_loop:
                    continue
                self.read_in_loop.add(path)
            if len(stack) >= MAX_INCLUDE_DEPTH:
                self._issue("evidence.include_too_deep", d, limit=MAX_INCLUDE_DEPTH)
                self.visited |= self.graph.reachable(
                    path, self.visited
                )  # read by includes, too deep to follow: no orphans
                continue
            if self.included >= MAX_INCLUDED_FILES:
                self._stop(d, "evidence.include_too_many_files", MAX_INCLUDED_FILES)
                return
            self.included += 1
            self.visited.add(path)
            self.walk(self.parsed[path], path, ctx, stack | {path}, depth)

    def _stop(self, d: Directive, key: str, limit: int) -> None:
        self.stopped = True
        self._issue(key, d, limit=limit)

    def walk(
        self, stmts: Iterable[dict[str, Any]], file: str, ctx: tuple[str, ...], stack: frozenset[str], depth: int = 0
    ) -> None:
        """Record every statement in reading order, descending into blocks and the files includes name."""
        for stmt in stmts:
            if self.stopped:
                return
            name: str = stmt["directive"]
            block = stmt.get("block")
            d = Directive(name, tuple(stmt["args"]), file, stmt["line"], ctx, block is not None)
            if len(self.directives) >= self.budget:
                self._stop(d, "evidence.include_too_big", self.budget)
                return
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
                self._include(d, ctx, stack, depth)
            if block is not None:
                if depth >= MAX_BLOCK_DEPTH:
                    self._issue("evidence.blocks_too_deep", d, limit=MAX_BLOCK_DEPTH)
                    continue
                start = len(self.directives)
                inner_ctx = (*ctx, _block_name(stmt))
                self.walk(block, file, inner_ctx, stack, depth + 1)
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
        port = to_int(rest[1:])
    elif to_int(first) is not None:
        address, port = "*", to_int(first)
    elif ":" in first:
        host, _, tail = first.rpartition(":")
        address, port = host, to_int(tail)
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
        elif x.name == "keepalive" and x.args and to_int(x.args[0]) is not None:
            keepalive = to_int(x.args[0])
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
