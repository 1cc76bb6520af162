"""Translate collected evidence into the sizing module's ``SizingInput``.

Sizing is pure arithmetic over optional numbers; this is the one place that knows where
each number comes from (config, a worker's limits, the log, ps, ss) and what nginx does
when a directive is absent. Which log lines carry which number is data: each KB error entry
declares the sizing inputs its lines supply (``sizing:`` in ``kb/errors/<id>.yaml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.diagnosis.collect import Collected
from bot.evidence.numbers import is_number
from bot.grouping import MatchGroup
from bot.knowledge.loader import KnowledgeBase
from bot.sizing import SizingInput

if TYPE_CHECKING:
    from bot.evidence import NginxConfig
    from bot.knowledge.schema import SizingFeed

LogValue = int | bool | None


def _int_arg(config: NginxConfig | None, name: str) -> int | None:
    if config is None:
        return None
    directive = {
        "worker_connections": config.worker_connections,
        "worker_rlimit_nofile": config.worker_rlimit_nofile,
        "worker_processes": config.worker_processes,
    }[name]
    if directive is None or not directive.args or not is_number(directive.args[0]):
        return None
    return int(directive.args[0])


def worker_processes(ev: Collected) -> int | None:
    """Workers nginx starts: the directive, ``auto`` = online CPUs, absent = 1."""
    config = ev.config
    if config is None:
        return _distinct_workers(ev)
    directive = config.worker_processes
    if directive is None:
        return 1
    if directive.args and directive.args[0] == "auto":
        return ev.nproc
    return _int_arg(config, "worker_processes")


def _distinct_workers(ev: Collected) -> int | None:
    workers = [p for p in ev.processes if p.role == "worker" and "shutting down" not in p.cmd]
    return len(workers) or None


def listeners(config: NginxConfig | None) -> int | None:
    """Distinct listening sockets; each one takes a slot in every worker."""
    if config is None:
        return None
    sockets = {(li.address, li.port, li.quic) for li in config.listens}
    return len(sockets) or None


def upstream_keepalive(config: NginxConfig | None) -> int | None:
    """Idle keepalive connections each worker may hold to the upstreams in use."""
    if config is None:
        return None
    used = {p.upstream for p in config.proxies if p.upstream}
    total = sum(u.keepalive or 0 for name, u in config.upstreams.items() if u.name in used or name in used)
    return total or None


def _fed(group: MatchGroup, feed: SizingFeed) -> LogValue:
    """The value one matched group gives one sizing input."""
    if feed.value is not None:
        return feed.value
    assert feed.fact is not None  # the schema wants exactly one of fact and value
    if feed.pick == "max":
        tally = group.tallies.get(feed.fact)
        values = [int(v) for v in (tally.counts if tally else {}) if is_number(v)]
        return max(values) if values else None
    value = group.facts.get(feed.fact)
    return int(value) if value and is_number(value) else None


def from_log(ev: Collected, kb: KnowledgeBase) -> dict[str, LogValue]:
    """Sizing inputs the matched lines supply, as their entries declare (first entry by id wins)."""
    out: dict[str, LogValue] = {}
    for kb_id in sorted(ev.grouper.groups):
        entry = kb.errors.get(kb_id)
        if entry is None:
            continue
        for name, feed in entry.sizing.items():
            if out.get(name) is None:
                out[name] = _fed(ev.grouper.groups[kb_id], feed)
    return out


def _int(value: LogValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def build_sizing_input(ev: Collected, target_concurrency: int | None, kb: KnowledgeBase) -> SizingInput:
    """Every number sizing can use, from whatever evidence there is."""
    config = ev.config
    worker = ev.worker_limits
    master = ev.master_limits
    logged = from_log(ev, kb)
    master_user = ev.master_user
    master_is_root: bool | None = None
    if master_user is not None:
        master_is_root = master_user == "root"
    if isinstance(logged.get("master_is_root"), bool):
        master_is_root = bool(logged["master_is_root"])  # the log beats ps: a refused setrlimit() is proof
    proxied: bool | None = None
    if config is not None:
        proxied = bool(config.proxies)
    elif ev.grouper.groups:
        proxied = any("upstream" in g.tallies for g in ev.grouper.groups.values()) or None
    user = config.user if config else None
    return SizingInput(
        worker_processes=worker_processes(ev),
        nproc=ev.nproc,
        cpu_quota=ev.cpu_quota,
        worker_connections=_int_arg(config, "worker_connections"),
        worker_rlimit_nofile=_int_arg(config, "worker_rlimit_nofile"),
        listeners=listeners(config),
        upstream_keepalive=upstream_keepalive(config),
        http2=bool(config and config.http2_enabled),
        http3=bool(config and config.http3_enabled),
        worker_nofile_soft=worker.nofile_soft if worker else None,
        worker_nofile_hard=worker.nofile_hard if worker else None,
        master_nofile_soft=master.nofile_soft if master else _int(logged.get("master_nofile_soft")),
        master_nofile_hard=master.nofile_hard if master else _int(logged.get("master_nofile_hard")),
        master_is_root=master_is_root,
        user_directive=user.args[0] if user and user.args else None,
        systemd_limit_nofile=ev.systemd.limit_nofile if ev.systemd else None,
        fs_nr_open=ev.kernel.nr_open if ev.kernel else None,
        fs_file_max=ev.kernel.file_max if ev.kernel else None,
        observed_alert_worker_connections=_int(logged.get("observed_alert_worker_connections")),
        observed_fd_exhausted=logged.get("observed_fd_exhausted") is True or None,
        observed_concurrency=ev.observed_concurrency,
        target_concurrency=target_concurrency,
        proxied=proxied,
    )
