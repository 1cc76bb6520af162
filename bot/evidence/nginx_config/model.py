"""What a parsed ``nginx -T`` dump is: directives with file and line, and the views sizing reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.evidence.numbers import is_number

PASTED = "(pasted)"
"""File name used when the paste has no ``# configuration file`` headers."""

PASS_DIRECTIVES = frozenset({"proxy_pass", "fastcgi_pass", "uwsgi_pass", "grpc_pass", "scgi_pass", "memcached_pass"})

# Top-level names that only make sense inside ``http {}``: a paste made of them is a snippet.
HTTP_LEVEL = frozenset(
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
MAIN_BLOCKS = frozenset({"http", "events", "stream", "mail"})


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
    partial: bool = False
    """The paste is not the whole text nginx printed (cut short, unbalanced, an included file
    missing): a diff built on it could land in the wrong place, so none is built."""

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
        return int(value) if value is not None and is_number(value) else None

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
