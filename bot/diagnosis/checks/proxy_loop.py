"""An upstream that is nginx itself: every request eats slots until they run out.

Compares every proxy target (``*_pass`` and the servers of the upstream blocks they name)
and every upstream seen in the log with nginx's own listeners. nginx's ports come from the
``listen`` lines of ``nginx -T`` as written (a listen without a port is left out, never
assumed to be 80); a port that ``ss -ltnp`` shows another program listening on is no loop.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected
from bot.lazy_re import lazy_compile

READS: tuple[str, ...] = ()

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0", "*", "[::]"}
_HOST_PORT = lazy_compile(r"^(?:[a-z]+://)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>[0-9]{1,20}))?")


_PORT_WRITTEN = lazy_compile(r"(?:^|:)[0-9]{1,5}$")


def _own_listeners(ev: Collected) -> set[tuple[str, int]]:
    """The address:port pairs nginx's http servers listen on, as written in ``nginx -T``."""
    config = ev.config
    if config is None:
        return set()
    return {
        (li.address, li.port)
        for li in config.listens
        if li.port is not None and li.context == "http" and li.args and _PORT_WRITTEN.search(li.args[0])
    }


def _others_listen(ev: Collected) -> set[int]:
    """Ports another program listens on (``ss -ltnp``): a proxy there reaches that program."""
    return {s.port for s in ev.listening if s.kind == "tcp" and s.port and s.processes and "nginx" not in s.processes}


def _split_host_port(target: str) -> tuple[str, int | None]:
    m = _HOST_PORT.match(target.strip())
    if not m:
        return target, None
    port = m.group("port")
    scheme_default = 443 if target.startswith("https://") else 80
    return m.group("host"), int(port) if port else (scheme_default if "://" in target else None)


def _targets(ev: Collected) -> list[tuple[str, dict[str, Any]]]:
    """(address, where it was seen) for every proxy target in the config and the log."""
    config = ev.config
    assert config is not None
    out: list[tuple[str, dict[str, Any]]] = []
    for p in config.proxies:
        where = {"directive": p.directive, "target": p.target, "file": p.file, "line": p.line, "logged": False}
        if p.upstream and p.upstream in config.upstreams:
            out += [(s.address, {**where, "upstream": p.upstream}) for s in config.upstreams[p.upstream].servers]
        else:
            out.append((p.target, {**where, "upstream": None}))
    for group in ev.grouper.groups.values():
        tally = group.tallies.get("upstream")
        if tally:
            out += [(u, {"target": u, "logged": True, "upstream": None}) for u, _n in tally.top(5)]
    return out


def check(c: CheckContext) -> Facts | None:
    """The first target that is one of nginx's own listeners, and where it was seen."""
    own = _own_listeners(c.ev)
    if not own:
        return None
    own_ports = {port for _addr, port in own} - _others_listen(c.ev)
    for target, where in _targets(c.ev):
        host, port = _split_host_port(target)
        if port in own_ports and (host in _LOCAL_HOSTS or (host, port) in own):
            return {"host": host, "port": port, "directive": "", "file": "", "line": 0, **where}
    return None
