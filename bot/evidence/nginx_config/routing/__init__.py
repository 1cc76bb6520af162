"""Request routing as nginx does it, over a parsed ``nginx -T``: pure functions, no I/O.

From a log line's ``server:``, ``host:`` and ``request:`` (and the listening address and
port when known) ``route`` finds the ``server {}`` and ``location {}`` that handled the
request; ``follow_to_backend`` walks ``try_files`` / ``error_page`` fallbacks to the
location that passed it to the backend the line names; ``effective`` gives a directive's
value there. Whatever makes an answer less than certain (``if`` blocks, rewrites, a
variable in a fallback, an unknown port) is listed in ``Route.uncertain`` by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.evidence.nginx_config.model import PASS_DIRECTIVES, Directive, NginxConfig
from bot.evidence.nginx_config.routing.locations import find_location, modifier, named_location, normalize_uri
from bot.evidence.nginx_config.routing.servers import choose_server, host_port, primary_name
from bot.evidence.nginx_config.routing.tree import Block, build_tree
from bot.evidence.nginx_config.routing.values import ARRAY_DIRECTIVES, effective_in, set_in_ifs
from bot.evidence.nginx_config.schemes import backend_module
from bot.lazy_re import lazy_compile

__all__ = [
    "ARRAY_DIRECTIVES",
    "Block",
    "Request",
    "Route",
    "backend_module",
    "block_label",
    "build_tree",
    "effective",
    "fallbacks",
    "follow_to_backend",
    "request_from_facts",
    "route",
]

_REQUEST = lazy_compile(r"^[A-Z]{1,16} (\S{1,8192})(?: HTTP/[0-9.]{1,5})?$")
_MAX_HOPS = 10


@dataclass(frozen=True)
class Request:
    """What is known about one request: all optional, as a log line may lack any of them."""

    uri: str = "/"
    host: str | None = None
    port: int | None = None
    address: str | None = None
    server_name: str | None = None
    """The log's ``server:`` (the handling server's first name), when the line has one."""


@dataclass(frozen=True)
class Route:
    """The blocks that handle a request, from ``http`` down, and how sure that is."""

    server: Block | None
    location: Block | None
    uri: str
    server_reason: str
    location_reason: str
    uncertain: tuple[str, ...] = ()
    hops: tuple[str, ...] = field(default=())
    """The fallbacks followed (``try_files``, ``error_page``), each as ``directive target``."""

    @property
    def path(self) -> list[Block]:
        """``http``, the server, then every location down to the handling one."""
        if self.location is not None:
            return self.location.path()
        return self.server.path() if self.server is not None else []

    @property
    def context(self) -> str:
        """The block path as DESIGN.md writes it: ``http > server(x) > location /api/``."""
        return " > ".join(block_label(b) for b in self.path)

    @property
    def passes(self) -> list[Directive]:
        """The ``*_pass`` lines of the handling location (those inside its ``if`` blocks too)."""
        if self.location is None:
            return []
        own = [d for d in self.location.statements if d.name in PASS_DIRECTIVES]
        return own or [d for name in PASS_DIRECTIVES for d in set_in_ifs(self.location, name)]

    @property
    def upstream_module(self) -> str | None:
        """``proxy``, ``fastcgi``, ``uwsgi``, ``scgi``, ``grpc`` (``memcached``): whose ``*_pass`` it is."""
        passes = self.passes
        return passes[0].name.removesuffix("_pass") if passes else None


def block_label(block: Block) -> str:
    """One step of a context path: ``server(name)``, ``location ~ \\.php$``, ``http``."""
    if block.name == "server" and block.parent is not None and block.parent.name == "http":
        return f"server({primary_name(block) or '_'})"
    return block.label


def _http(tree: Block) -> Block | None:
    return next(iter(tree.blocks("http")), None)


def request_from_facts(facts: Mapping[str, str]) -> Request:
    """A ``Request`` from a log line's facts (``request``, ``host``, ``server``)."""
    uri = "/"
    m = _REQUEST.match((facts.get("request") or "").strip())
    if m is not None:
        uri = m.group(1)
    host = facts.get("host") or None
    server = facts.get("server")
    return Request(uri=uri, host=host, server_name=server)


def route(config: NginxConfig, request: Request, tree: Block | None = None) -> Route:
    """The server and location that take ``request`` (see the module docstring)."""
    tree = tree if tree is not None else build_tree(config)
    http = _http(tree)
    uri = normalize_uri(request.uri)
    if http is None:
        return Route(None, None, uri, "none", "none", ("no-http-block",))
    servers = http.blocks("server")
    port = request.port if request.port is not None or request.host is None else host_port(request.host)
    if port is not None and not any(li.port == port for li in config.listens if li.context == "http"):
        port = None  # the Host header's port is not one nginx listens on (a port forward)
    choice = choose_server(
        config, servers, host=request.host, port=port, address=request.address, logged_name=request.server_name
    )
    if choice.block is None:
        return Route(None, None, uri, choice.reason, "none", choice.uncertain)
    loc = find_location(choice.block, uri)
    uncertain = list(choice.uncertain) + list(loc.uncertain)
    if loc.block is not None:
        uncertain += _doubts(loc.block)
    uncertain += _doubts(choice.block, locations=False)
    return Route(choice.block, loc.block, uri, choice.reason, loc.reason, tuple(dict.fromkeys(uncertain)))


def _doubts(block: Block, *, locations: bool = True) -> list[str]:
    """What may send a request elsewhere than the static reading says."""
    out: list[str] = []
    if block.blocks("if"):
        out.append("if-block")
    if any(d.args[-1:] in (("last",), ("break",)) or d.name == "rewrite" for d in block.own("rewrite")):
        out.append("rewrite")
    if locations and block.own("return"):
        out.append("return")
    return out


def fallbacks(server: Block, loc: Block, uri: str) -> list[tuple[str, Block | None, str]]:
    """Where ``try_files`` and ``error_page`` may send the request next: (hop, named location, URI)."""
    out: list[tuple[str, Block | None, str]] = []
    targets = [("try_files", d.args[-1]) for d in effective_in(loc.path(), "try_files") if d.args]
    targets += [("error_page", d.args[-1]) for d in effective_in(loc.path(), "error_page") if len(d.args) >= 2]
    for directive, target in targets:
        if target.startswith("@"):
            out.append((f"{directive} {target}", named_location(server, target), ""))
        elif target.startswith("/"):
            path = target.split("?", 1)[0].replace("$uri", uri).replace("$request_uri", uri)
            out.append((f"{directive} {target}", None, "" if "$" in path else path))
    return out


def follow_to_backend(config: NginxConfig, first: Route, upstream: str | None, tree: Block | None = None) -> Route:
    """The location that passed the request to ``upstream`` (the log's), following fallbacks.

    ``location / { try_files $uri /index.php?$args; }`` hands a PHP request to ``location ~
    \\.php$``; an upstream error there was logged with the first URI. When no fallback
    reaches a location passing to that kind of backend, the first route stands.
    """
    want = backend_module(upstream)
    if first.server is None or first.location is None or want is None or first.upstream_module == want:
        return first
    tree = tree if tree is not None else build_tree(config)
    seen: set[int] = {id(first.location)}
    queue: list[tuple[Route, tuple[str, ...]]] = [(first, ())]
    for _ in range(_MAX_HOPS):
        if not queue:
            break
        current, hops = queue.pop(0)
        assert current.server is not None and current.location is not None
        for hop, named, uri in fallbacks(current.server, current.location, current.uri):
            if named is not None:
                nxt = Route(current.server, named, current.uri, current.server_reason, "named", current.uncertain)
            elif uri:
                loc = find_location(current.server, normalize_uri(uri))
                if loc.block is None:
                    continue
                nxt = Route(current.server, loc.block, uri, current.server_reason, loc.reason, current.uncertain)
            else:
                continue
            if nxt.location is None or id(nxt.location) in seen:
                continue
            seen.add(id(nxt.location))
            path = (*hops, hop)
            if nxt.upstream_module == want:
                doubts = tuple(dict.fromkeys([*nxt.uncertain, *_doubts(nxt.location)]))
                return Route(nxt.server, nxt.location, nxt.uri, nxt.server_reason, nxt.location_reason, doubts, path)
            queue.append((nxt, path))
    return first


def effective(route_: Route, name: str) -> list[Directive]:
    """The ``name`` lines in effect where the request is handled ([] when unset: nginx's default)."""
    return effective_in(route_.path, name)


def location_kind(block: Block) -> str:
    """A location's modifier: ``=``, ``^~``, ``~``, ``~*``, ``@`` or ``''`` for a plain prefix."""
    return modifier(block)[0]
