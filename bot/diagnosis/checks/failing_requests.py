"""What the access log shows about failed requests: how many, which URLs, how long they ran.

The error log says why one request failed; the access log says how many users it hit and,
with ``$request_time`` / ``$upstream_response_time`` appended to the format, how long the
504s ran (the timeout that fired), when clients gave up (499) and which uploads got 413.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.diagnosis.checks.context import CheckContext, Facts

if TYPE_CHECKING:
    from bot.evidence.system.model import AccessEntry

READS: tuple[str, ...] = ()

_NOTABLE = frozenset({408, 413, 429, 499})
"""4xx statuses that say something about the server side (the rest of 4xx is the clients' business)."""


def _summary(status: int, entries: list[AccessEntry]) -> dict[str, Any]:
    paths: dict[str, int] = {}
    for e in entries:
        key = f"{e.method} {e.path}".strip()
        paths[key] = paths.get(key, 0) + 1
    times = [e.request_time for e in entries if e.request_time is not None]
    upstream = [e.upstream_time for e in entries if e.upstream_time is not None]
    return {
        "status": status,
        "count": len(entries),
        "paths": [p for p, _n in sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:3]],
        "longest": max(times) if times else None,
        "upstream": max(upstream) if upstream else None,
    }


def check(c: CheckContext) -> Facts | None:
    """Per failing status (5xx, 408, 413, 429, 499): count, top URLs, the longest request and upstream times."""
    entries = [e for log in c.ev.access for e in log.entries]
    by_status: dict[int, list[AccessEntry]] = {}
    for e in entries:
        if e.status >= 500 or e.status in _NOTABLE:
            by_status.setdefault(e.status, []).append(e)
    if not by_status:
        return None
    statuses = [_summary(s, es) for s, es in sorted(by_status.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return {
        "failed": sum(s["count"] for s in statuses),
        "total": len(entries),
        "statuses": statuses[:6],
        "timed": any(e.request_time is not None for e in entries),
    }
