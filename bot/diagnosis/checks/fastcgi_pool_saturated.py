"""The FastCGI backend cannot take more: its accept queue is full or all its children are busy.

``connect() to unix:... failed (11: Resource temporarily unavailable)`` is a full listen queue
(Linux answers a unix-socket connect that way). ``ss -lx`` shows it (Recv-Q at Send-Q), the pool
settings say how many children may run, ``ps`` how many do and how big one is, ``free -m`` how
much memory is left for more.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected
from bot.lazy_re import lazy_compile

READS = ("backlog",)

_PHP_VERSION = lazy_compile(r"/php/([0-9]{1,2}\.[0-9]{1,2})/|php([0-9]{1,2}\.[0-9]{1,2})-fpm")
_COUNT = lazy_compile(r"^-?[0-9]{1,9}$")


def _setting(ev: Collected, key: str) -> int | None:
    for pools in ev.fpm_pools:
        found = pools.get(key)
        if found is not None and _COUNT.match(found.value):
            return int(found.value)
    return None


def _php_version(ev: Collected, socket: str) -> str:
    texts = [socket] + [s.file or "" for pools in ev.fpm_pools for s in pools.settings]
    for text in texts:
        m = _PHP_VERSION.search(text)
        if m is not None:
            return m.group(1) or m.group(2)
    return ""


def _socket_facts(ev: Collected, socket: str) -> dict[str, Any]:
    for sock in ev.listening:
        if sock.kind == "unix" and (sock.local == socket or not socket):
            return {"recv_q": sock.recv_q, "send_q": sock.send_q, "queue_full": sock.queue_full}
    return {"recv_q": None, "send_q": None, "queue_full": False}


def check(c: CheckContext) -> Facts | None:
    """The pool's figures when the log or ss shows the backend's queue full."""
    groups = c.groups("backlog")
    socket = next((g.facts.get("socket", "") for g in groups if g.facts.get("socket")), "")
    queue = _socket_facts(c.ev, socket)
    if not groups and not (queue["queue_full"] and c.ev.fpm_pools):
        return None
    ev = c.ev
    children = [p for p in ev.fpm_processes if p.role == "pool"]
    rss = [p.rss_kb for p in children if p.rss_kb]
    max_children = _setting(ev, "pm.max_children")
    memory = ev.memory
    return {
        "socket": socket or "the php-fpm socket",
        "lines": c.count("backlog"),
        **queue,
        "max_children": max_children,
        "backlog": _setting(ev, "listen.backlog"),
        "children": len(children),
        "busy_children": bool(max_children) and len(children) >= (max_children or 0),
        "child_rss_kb": max(rss) if rss else None,
        "available_mb": (memory.available_mb or memory.free_mb) if memory else None,
        "php_version": _php_version(ev, socket),
        "samples": c.samples("backlog"),
    }
