"""``localhost`` in a proxy target resolves to ::1 and 127.0.0.1; one of them refuses.

nginx resolves the name when it loads the configuration and makes every address a peer, so
a backend bound to 127.0.0.1 only refuses every try on [::1] (and the other way round). The
refused address comes from the log; where ``localhost`` is written, from ``nginx -T``; the
family that listens, from ``ss -ltnp`` when pasted.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected
from bot.lazy_re import lazy_compile

READS = ("refused",)

_TARGET = lazy_compile(
    r"^(?:(?P<scheme>[a-z]{2,8})://)?(?P<host>\[[0-9a-fA-F:.]{2,45}\]|[^:/\s]{1,253})(?::(?P<port>[0-9]{1,5}))?"
)
_LOOPBACK = {"127.0.0.1": "4", "[::1]": "6"}
_ADDRESS_OF = {"4": "127.0.0.1", "6": "[::1]"}


def _split(target: str) -> tuple[str, str, int | None]:
    m = _TARGET.match(target.strip())
    if m is None:
        return "", "", None
    port = m.group("port")
    return m.group("scheme") or "", m.group("host").lower(), int(port) if port else None


def _refused(c: CheckContext) -> tuple[str, int, int] | None:
    """(family, port, lines) of the loopback address the log shows refusing."""
    for group in c.groups("refused"):
        tally = group.tallies.get("upstream")
        for upstream, n in tally.top(5) if tally else []:
            _scheme, host, port = _split(upstream)
            if host in _LOOPBACK and port is not None:
                return _LOOPBACK[host], port, n
    return None


def _places(ev: Collected, port: int) -> list[dict[str, Any]]:
    """Where ``localhost:port`` is written: a ``*_pass`` target or an upstream ``server``."""
    config = ev.config
    if config is None:
        return []
    out: list[dict[str, Any]] = []
    for p in config.proxies:
        scheme, host, p_port = _split(p.target)
        if host == "localhost" and (p_port or (443 if scheme == "https" else 80)) == port:
            out.append(
                {"directive": p.directive, "file": p.file, "line": p.line, "args": (p.target,), "scheme": scheme}
            )
    for u in config.upstreams.values():
        for s in u.servers:
            _scheme, host, s_port = _split(s.address)
            if host == "localhost" and (s_port or 80) == port:
                params = tuple(f"{k}={v}" if v else k for k, v in s.params.items())
                out.append({"directive": "server", "file": u.file, "line": s.line, "args": (s.address, *params)})
    return out


def _listening_family(ev: Collected, port: int) -> str | None:
    """``4`` or ``6`` when ss shows the backend on one loopback family only (None: unknown or both)."""
    families: set[str] = set()
    for sock in ev.listening:
        if sock.kind != "tcp" or sock.port != port or "nginx" in sock.processes:
            continue
        host = sock.host
        families |= {"4", "6"} if host in ("*", "[::]") else {"6" if host.startswith("[") else "4"}
    return families.pop() if len(families) == 1 else None


def check(c: CheckContext) -> Facts | None:
    """The place to write the listening address instead of localhost, when the log shows the other refusing."""
    refused = _refused(c)
    if refused is None:
        return None
    family, port, lines = refused
    resolved = [r for r in c.ev.resolutions if (r.name or "localhost") == "localhost"]
    if resolved and len(resolved[-1].families) < 2:
        return None  # localhost has one address here: the backend is down, not half-reachable
    listening = _listening_family(c.ev, port) or ("4" if family == "6" else "6")
    if listening == family:
        return None
    places = _places(c.ev, port)
    if not places:
        return None
    place = places[0]
    good = f"{_ADDRESS_OF[listening]}:{port}"
    old = place["args"]
    new = [old[0].replace("localhost", _ADDRESS_OF[listening], 1), *old[1:]]
    return {
        "directive": place["directive"],
        "place": {"file": place["file"], "line": place["line"]},
        "old_args": " ".join(old),
        "new_args": " ".join(new),
        "scheme": place.get("scheme", "http") or "http",
        "resolved": list(resolved[-1].addresses) if resolved else ["::1", "127.0.0.1"],
        "refused": f"{_ADDRESS_OF[family]}:{port}",
        "listening": good,
        "lines": lines,
        "file": place["file"],
        "line": place["line"],
        "samples": c.samples("refused"),
    }
