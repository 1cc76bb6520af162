"""Which ``server {}`` takes a request: the listening socket first, then the Host name.

nginx picks the servers that listen on the address and port the connection came in on (a
server that listens on that very address beats the wildcard ``*:port`` ones), then among
them the first match of, in this order: an exact name, the longest wildcard starting with
``*``, the longest wildcard ending with ``*``, the first regex in the order the config
gives them; else the socket's default server (``default_server``, or the first server
listening there). The error log's ``server:`` is the chosen server's first name, which
settles most questions on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.evidence.nginx_config.model import Listen, NginxConfig
from bot.evidence.nginx_config.routing.tree import Block
from bot.evidence.nginx_config.routing.user_regex import compile_user_regex, user_search
from bot.lazy_re import lazy_compile

DEFAULT_PORT = 80
"""Where a server without ``listen`` listens (nginx started as root)."""

_WILDCARD_V4 = frozenset({"*", "0.0.0.0"})
_WILDCARD_V6 = frozenset({"[::]", "[::0]"})
_NAMED_GROUP = lazy_compile(r"\(\?<(?=[A-Za-z_])")
_MAX_NAMES = 10_000


@dataclass(frozen=True, slots=True)
class Socket:
    """One ``listen`` of a server reduced to what picks servers: address, port, default flag."""

    address: str
    port: int | None
    default: bool


@dataclass(frozen=True)
class ServerChoice:
    """The server that takes a request, why, and what makes the answer less than certain."""

    block: Block | None
    reason: str
    """``server-name`` (the log's ``server:``), ``exact``, ``wildcard-start``, ``wildcard-end``,
    ``regex``, ``default`` or ``none``."""
    uncertain: tuple[str, ...] = ()


def server_names(server: Block) -> list[str]:
    """Every name of ``server_name`` in order, lower-cased as nginx stores them (regexes as written)."""
    names: list[str] = []
    for d in server.own("server_name"):
        for arg in d.args[:_MAX_NAMES]:
            names.append(arg if arg.startswith("~") else arg.lower())
    return names


def primary_name(server: Block) -> str:
    """What the error log prints as ``server:``: the first name, a leading dot dropped, else ``""``."""
    names = server_names(server)
    if not names:
        return ""
    first = names[0]
    return first[1:] if first.startswith(".") else first


def sockets(server: Block, listens: dict[tuple[str, int], Listen]) -> list[Socket]:
    """The sockets a server listens on; none written means ``*:80``."""
    out: list[Socket] = []
    for d in server.own("listen"):
        li = listens.get((d.file, d.line))
        if li is None or li.address.startswith("unix:"):
            continue
        address = "127.0.0.1" if li.address == "localhost" else li.address
        out.append(Socket(address, li.port, li.default_server))
    return out or [Socket("*", DEFAULT_PORT, False)]


def _is_wildcard(address: str) -> bool:
    return address in _WILDCARD_V4 or address in _WILDCARD_V6


def _family(address: str) -> str:
    return "6" if address.startswith("[") else "4"


def candidates(
    servers: list[Block], listens: dict[tuple[str, int], Listen], port: int | None, address: str | None
) -> tuple[list[tuple[Block, Socket]], list[str]]:
    """Servers (with the matching socket) that may take a connection on ``address:port``."""
    uncertain: list[str] = []
    table = [(s, sock) for s in servers for sock in sockets(s, listens)]
    if port is not None:
        table = [(s, sock) for s, sock in table if sock.port == port]
    elif len({sock.port for _s, sock in table}) > 1:
        uncertain.append("port-unknown")
    if address is not None:
        specific = [(s, sock) for s, sock in table if sock.address == address]
        if specific:
            return specific, uncertain
        family = _family(address)
        return [(s, sock) for s, sock in table if _is_wildcard(sock.address) and _family(sock.address) == family], (
            uncertain
        )
    if len({sock.address for _s, sock in table}) > 1:
        uncertain.append("address-unknown")
    return table, uncertain


def normalize_host(host: str) -> str:
    """The Host header as nginx compares it: lower case, no port, no trailing dot."""
    h = host.strip().lower()
    if h.startswith("["):
        h = h[: h.find("]") + 1] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def host_port(host: str) -> int | None:
    """The port a Host header names (``example.com:8080``), if any."""
    h = host.strip()
    tail = h.rsplit("]", 1)[-1] if h.startswith("[") else h
    if tail.count(":") != 1:
        return None
    digits = tail.split(":", 1)[1]
    return int(digits) if re.fullmatch(r"[0-9]{1,5}", digits) and int(digits) < 65536 else None


def _regex(name: str) -> re.Pattern[str] | None:
    pattern = _NAMED_GROUP.sub("(?P<", name[1:])
    flags = re.IGNORECASE if any("A" <= c <= "Z" for c in pattern) else 0
    return compile_user_regex(pattern, flags)


def _wildcard_start(name: str, host: str) -> int:
    """Length of the matched suffix when ``*.x`` or ``.x`` covers ``host``, else 0."""
    if name.startswith("*."):
        suffix = name[1:]
        return len(suffix) if host.endswith(suffix) and len(host) > len(suffix) else 0
    if name.startswith("."):
        return len(name) if host == name[1:] or host.endswith(name) else 0
    return 0


def _wildcard_end(name: str, host: str) -> int:
    if not name.endswith(".*"):
        return 0
    prefix = name[:-1]
    return len(prefix) if host.startswith(prefix) and len(host) > len(prefix) else 0


def by_name(table: list[tuple[Block, Socket]], host: str) -> tuple[Block | None, str, list[str]]:
    """The server of ``table`` whose names match ``host`` first, in nginx's order of kinds."""
    uncertain: list[str] = []
    servers: list[Block] = []
    for s, _sock in table:
        if s not in servers:
            servers.append(s)
    named = [(s, n) for s in servers for n in server_names(s)]
    if any("$" in n and not n.startswith("~") for _s, n in named):
        uncertain.append("variable-server-name")
    for s, n in named:
        if not n.startswith(("~", "*", ".")) and not n.endswith("*") and n == host:
            return s, "exact", uncertain
    for kind, score in (("wildcard-start", _wildcard_start), ("wildcard-end", _wildcard_end)):
        best: tuple[int, Block] | None = None
        for s, n in named:
            length = score(n, host) if not n.startswith("~") else 0
            if length and (best is None or length > best[0]):
                best = (length, s)
        if best is not None:
            return best[1], kind, uncertain
    for s, n in named:
        if n.startswith("~"):
            rx = _regex(n)
            hit = None if rx is None else user_search(rx, host)
            if hit is None:
                uncertain.append("regex-unreadable")
            elif hit:
                return s, "regex", uncertain
    return None, "default", uncertain


def default_server(table: list[tuple[Block, Socket]]) -> Block | None:
    """The socket's default server: marked ``default_server``, else the first listening there."""
    for s, sock in table:
        if sock.default:
            return s
    return table[0][0] if table else None


def choose_server(
    config: NginxConfig,
    servers: list[Block],
    *,
    host: str | None,
    port: int | None,
    address: str | None,
    logged_name: str | None,
) -> ServerChoice:
    """The server nginx gave the request to (see the module docstring for the order)."""
    listens = {(li.file, li.line): li for li in config.listens}
    table, uncertain = candidates(servers, listens, port, address)
    if logged_name is not None:
        named = [(s, sock) for s, sock in table if primary_name(s) == logged_name.lower()]
        if not named and table != candidates(servers, listens, None, None)[0]:
            all_table = candidates(servers, listens, None, None)[0]
            named = [(s, sock) for s, sock in all_table if primary_name(s) == logged_name.lower()]
        distinct = list(dict.fromkeys(s for s, _ in named))
        if len(distinct) == 1:
            return ServerChoice(distinct[0], "server-name", ())
        if distinct:
            table = named
    if not table:
        return ServerChoice(None, "none", tuple(uncertain))
    reason = (
        "server-name"
        if logged_name is not None and all(primary_name(s) == logged_name.lower() for s, _ in table)
        else ""
    )
    if host is not None:
        found, kind, more = by_name(table, normalize_host(host))
        uncertain += more
        if found is not None:
            return ServerChoice(found, reason or kind, tuple(uncertain))
    elif len({s for s, _ in table}) > 1:
        uncertain.append("host-unknown")
    if reason:
        return ServerChoice(table[0][0], reason, tuple(uncertain))
    return ServerChoice(default_server(table), "default", tuple(uncertain))
