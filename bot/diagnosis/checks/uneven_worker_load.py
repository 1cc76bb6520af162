"""One worker carries most of the CPU time while the others idle: connections are not spread.

With ``accept_mutex`` off (the default since 1.11.3) Linux's EPOLLEXCLUSIVE tends to wake the
same worker for new connections; ``listen ... reuseport`` gives each worker its own socket.
Read from ``ps`` with TIME (or %CPU) columns; the listens to change from ``nginx -T``.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected

READS: tuple[str, ...] = ()

MIN_SHARE = 0.6
"""The busiest worker's share of the workers' CPU time that counts as uneven (even is 1/N)."""

MIN_SECONDS = 60
"""Below this much CPU time in all, the spread says nothing yet."""


def _load(ev: Collected) -> list[tuple[int, float]]:
    """(pid, CPU seconds or %CPU) per running worker, by whichever column all of them have."""
    workers = [u for u in ev.usage if u.role == "worker"]
    if all(u.cpu_seconds is not None for u in workers) and sum(u.cpu_seconds or 0 for u in workers) >= MIN_SECONDS:
        return [(u.pid, float(u.cpu_seconds or 0)) for u in workers]
    if all(u.cpu_percent is not None for u in workers) and sum(u.cpu_percent or 0 for u in workers) >= 20:
        return [(u.pid, u.cpu_percent or 0.0) for u in workers]
    return []


def _sockets(ev: Collected) -> list[dict[str, Any]]:
    """The first ``listen`` of each TCP address:port without ``reuseport``, where it goes."""
    config = ev.config
    if config is None:
        return []
    seen: dict[tuple[str, int], bool] = {}
    first: dict[tuple[str, int], Any] = {}
    for li in config.listens:
        if li.context != "http" or li.port is None or li.address.startswith("unix:"):
            continue
        key = (li.address, li.port)
        seen[key] = seen.get(key, False) or "reuseport" in li.args
        first.setdefault(key, li)
    return [
        {"file": li.file, "line": li.line, "args": " ".join(li.args), "socket": f"{li.address}:{li.port}"}
        for key, li in first.items()
        if not seen[key]
    ]


def check(c: CheckContext) -> Facts | None:
    """The busiest worker, its share, and the listens that would take ``reuseport``."""
    load = _load(c.ev)
    if len(load) < 2:
        return None
    total = sum(v for _pid, v in load)
    pid, top = max(load, key=lambda x: x[1])
    share = top / total if total else 0.0
    if share < MIN_SHARE:
        return None
    rows = [f"worker {p}: {v:g}" for p, v in sorted(load, key=lambda x: -x[1])]
    return {
        "busiest_pid": pid,
        "busiest_share": share,
        "workers": len(load),
        "sockets": _sockets(c.ev),
        "rows": rows,
    }
