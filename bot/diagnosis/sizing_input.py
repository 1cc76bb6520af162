"""Translate collected evidence into the sizing module's ``SizingInput``.

Sizing is pure arithmetic over optional numbers; this is the one place that knows where
each number comes from (config, a worker's limits, the log, ps, ss) and what nginx does
when a directive is absent.
"""

from __future__ import annotations

from bot.diagnosis.collect import Collected
from bot.evidence import NginxConfig
from bot.sizing import SizingInput


def _int_arg(config: NginxConfig | None, name: str) -> int | None:
    if config is None:
        return None
    directive = {
        "worker_connections": config.worker_connections,
        "worker_rlimit_nofile": config.worker_rlimit_nofile,
        "worker_processes": config.worker_processes,
    }[name]
    if directive is None or not directive.args or not directive.args[0].isdigit():
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


def alert_worker_connections(ev: Collected) -> int | None:
    """The largest N seen in ``N worker_connections are not enough``."""
    group = ev.grouper.groups.get("worker-connections-not-enough")
    if group is None:
        return None
    tally = group.tallies.get("worker_connections")
    values = [int(v) for v in (tally.counts if tally else {}) if v.isdigit()]
    return max(values) if values else None


def master_limits_from_log(ev: Collected) -> tuple[int | None, int | None]:
    """The master's soft:hard from the ``getrlimit(RLIMIT_NOFILE)`` notice, if logged."""
    group = ev.grouper.groups.get("rlimit-nofile-notice")
    if group is None:
        return None, None
    soft, hard = group.facts.get("soft"), group.facts.get("hard")

    def num(value: str | None) -> int | None:
        return int(value) if value and value.isdigit() else None

    return num(soft), num(hard)


def build_sizing_input(ev: Collected, target_concurrency: int | None) -> SizingInput:
    """Every number sizing can use, from whatever evidence there is."""
    config = ev.config
    worker = ev.worker_limits
    master = ev.master_limits
    log_soft, log_hard = master_limits_from_log(ev)
    master_user = ev.master_user
    master_is_root: bool | None = None
    if master_user is not None:
        master_is_root = master_user == "root"
    if "setrlimit-failed" in ev.grouper.groups:
        master_is_root = False  # the worker tried and was refused: it cannot raise its limit
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
        master_nofile_soft=master.nofile_soft if master else log_soft,
        master_nofile_hard=master.nofile_hard if master else log_hard,
        master_is_root=master_is_root,
        user_directive=user.args[0] if user and user.args else None,
        systemd_limit_nofile=ev.systemd.limit_nofile if ev.systemd else None,
        fs_nr_open=ev.kernel.nr_open if ev.kernel else None,
        fs_file_max=ev.kernel.file_max if ev.kernel else None,
        observed_alert_worker_connections=alert_worker_connections(ev),
        observed_concurrency=ev.observed_concurrency,
        target_concurrency=target_concurrency,
        proxied=proxied,
    )
