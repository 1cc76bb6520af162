"""Conclusions drawn across evidence, each with a stable id and the evidence it rests on.

KB entries explain one line; findings connect lines, config, limits and processes: the
traps where the obvious fix (raise worker_connections) does not help or does not apply.
Each rule is a small function; ``FINDING_RULES`` lists them in the order shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Finding
from bot.sizing import Recommendation as SizingRecommendation


@dataclass(frozen=True)
class Context:
    """What every rule may read."""

    ev: Collected
    rec: SizingRecommendation | None
    environment: str


Rule = Callable[[Context], Finding | None]

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0", "*", "[::]"}
_HOST_PORT = re.compile(r"^(?:[a-z]+://)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?")


def _group_count(ev: Collected, kb_id: str) -> int:
    group = ev.grouper.groups.get(kb_id)
    return group.count if group else 0


def _sample(ev: Collected, kb_id: str) -> list[str]:
    group = ev.grouper.groups.get(kb_id)
    return group.samples[:1] if group else []


def fd_limit_below_connections(c: Context) -> Finding | None:
    """Workers hit the descriptor limit before the slot limit."""
    rec = c.rec
    if rec is None:
        return None
    cap = rec.capacity_before
    fd = cap.fd_limit_per_worker
    if fd is None or fd >= cap.worker_connections:
        return None
    evidence = [f"worker_connections {cap.worker_connections}", f"open files per worker {fd} ({cap.fd_limit_source})"]
    evidence += _sample(c.ev, "too-many-open-files")
    return Finding(
        "fd-limit-below-connections",
        "critical",
        f"Each worker may open only {fd} files but worker_connections is {cap.worker_connections}: "
        "workers fail with `Too many open files` (24) before they run out of connection slots. "
        "Set worker_rlimit_nofile to at least worker_connections (2x as advice).",
        evidence,
    )


def setrlimit_not_permitted(c: Context) -> Finding | None:
    """The worker tried to raise its limit and the kernel said no."""
    count = _group_count(c.ev, "setrlimit-failed")
    if not count:
        return None
    group = c.ev.grouper.groups["setrlimit-failed"]
    wanted = group.facts.get("worker_rlimit_nofile") or group.facts.get("value") or "the configured value"
    return Finding(
        "setrlimit-not-permitted",
        "high",
        f"Workers could not raise their open-file limit to {wanted} (EPERM): the master is not root or lacks "
        "CAP_SYS_RESOURCE, so the worker keeps the limit it inherited. Raise the master's own limit "
        "(systemd LimitNOFILE=, docker --ulimit nofile=) and restart nginx; a reload cannot do it.",
        _sample(c.ev, "setrlimit-failed"),
    )


def limits_read_from_master(c: Context) -> Finding | None:
    """A pasted limits table belongs to the master, not a worker."""
    for paste in c.ev.limits:
        role, why = c.ev.limits_role(paste)
        if role == "master":
            return Finding(
                "limits-read-from-master",
                "medium",
                "The limits you pasted are the master's, not a worker's: " + why + ". Workers apply "
                "worker_rlimit_nofile themselves. Read a worker: "
                "`cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits`.",
                [f"Max open files {paste.limits.nofile_soft} {paste.limits.nofile_hard}"]
                + ([paste.command] if paste.command else []),
            )
    return None


def limits_conf_ignored_by_systemd(c: Context) -> Finding | None:
    """limits.conf (pam_limits) applies to login sessions, not to systemd services."""
    if not c.ev.limits_conf_lines and not _shell_higher_than_service(c.ev):
        return None
    if c.environment not in ("systemd-host", ""):
        return None
    evidence = list(c.ev.limits_conf_lines[:3])
    if c.ev.ulimit and c.ev.ulimit.soft:
        evidence.append(f"ulimit -n in your shell: {c.ev.ulimit.soft}")
    return Finding(
        "limits-conf-ignored-by-systemd",
        "medium",
        "/etc/security/limits.conf (and `ulimit` in a shell) does not apply to nginx started by systemd: "
        "pam_limits only runs for login sessions. Set LimitNOFILE= in a drop-in (`systemctl edit nginx`), "
        "then `systemctl daemon-reload && systemctl restart nginx`.",
        evidence,
    )


def _shell_higher_than_service(ev: Collected) -> bool:
    shell = ev.ulimit.soft if ev.ulimit else None
    worker = ev.worker_limits
    service = ev.master_limits or worker
    return bool(shell and service and service.nofile_soft and shell > service.nofile_soft)


def restart_needed(c: Context) -> Finding | None:
    """The fix raises the master's limit: a reload keeps the old master, so restart."""
    if c.rec is None or not c.rec.needs_restart:
        return None
    limit = c.rec.recommended_limit_nofile
    return Finding(
        "restart-needed",
        "high",
        f"The fix needs the master's open-file limit raised{f' to {limit}' if limit else ''}. The master keeps "
        "its limit across `nginx -s reload` (only workers are replaced), so this change needs a full restart "
        "(systemd: daemon-reload, then restart; Docker: recreate the container).",
        [c.rec.can_raise_reason] if c.rec.can_raise_reason else [],
    )


def old_workers_keep_limits(c: Context) -> Finding | None:
    """After a reload old workers drain with their old limits and slots."""
    old = c.ev.old_workers
    if not old:
        return None
    return Finding(
        "old-workers-keep-limits",
        "medium",
        f"{len(old)} old worker(s) are still shutting down after a reload. They keep the old "
        "worker_connections and open-file limits until their last connection closes (long with websockets "
        "and keepalive). Read limits from a new worker (`pgrep -nf '[n]ginx: worker process'`); the alert can "
        "continue from old workers for a while.",
        [f"{p.pid} {p.cmd}" for p in old[:3]],
    )


def _own_listeners(ev: Collected) -> set[tuple[str, int]]:
    config = ev.config
    if config is None:
        return set()
    return {(li.address, li.port) for li in config.listens if li.port is not None}


def _split_host_port(target: str) -> tuple[str, int | None]:
    m = _HOST_PORT.match(target.strip())
    if not m:
        return target, None
    port = m.group("port")
    scheme_default = 443 if target.startswith("https://") else 80
    return m.group("host"), int(port) if port else (scheme_default if "://" in target else None)


def proxy_loop(c: Context) -> Finding | None:
    """An upstream that is nginx itself: every request eats slots until they run out."""
    own = _own_listeners(c.ev)
    if not own:
        return None
    own_ports = {port for _addr, port in own}
    targets: list[tuple[str, str]] = []
    config = c.ev.config
    assert config is not None
    for p in config.proxies:
        if p.upstream and p.upstream in config.upstreams:
            targets += [
                (s.address, f"{p.directive} {p.target} (upstream {p.upstream}) at {p.file}:{p.line}")
                for s in config.upstreams[p.upstream].servers
            ]
        else:
            targets.append((p.target, f"{p.directive} {p.target} at {p.file}:{p.line}"))
    for group in c.ev.grouper.groups.values():
        tally = group.tallies.get("upstream")
        if tally:
            targets += [(u, f'upstream "{u}" in the log') for u, _n in tally.top(5)]
    for target, where in targets:
        host, port = _split_host_port(target)
        if port in own_ports and (host in _LOCAL_HOSTS or (host, port) in own):
            return Finding(
                "proxy-loop",
                "critical",
                f"nginx proxies to itself ({host}:{port} is one of its own listeners): each request comes back "
                "in and takes more slots, so raising worker_connections only delays the failure. Point the "
                "proxy at the real backend.",
                [where],
            )
    return None


def cache_manager_connections(c: Context) -> Finding | None:
    """512 in the alert while workers have another value: the cache manager/loader."""
    if c.rec is None or not c.rec.cache_manager_alert:
        return None
    return Finding(
        "cache-manager-connections",
        "high",
        "The alert says 512 worker_connections but the config sets "
        f"{c.rec.worker_connections_current}: the cache manager and cache loader always run with 512 "
        "(hard-coded), so a module running inside them (upstream health checks, upsync) ran out. Raising "
        "worker_connections will not change it; look at that module's settings.",
        _sample(c.ev, "worker-connections-not-enough"),
    )


def slow_upstream(c: Context) -> Finding | None:
    """Timeouts next to slot or fd exhaustion: slow upstreams hold slots longer."""
    timeouts = _group_count(c.ev, "upstream-timed-out")
    exhausted = _group_count(c.ev, "worker-connections-not-enough") + _group_count(c.ev, "too-many-open-files")
    if not timeouts or not exhausted:
        return None
    group = c.ev.grouper.groups["upstream-timed-out"]
    tops = ", ".join(f"{u} ({n})" for u, n in group.tallies["upstream"].top(3)) if "upstream" in group.tallies else ""
    return Finding(
        "slow-upstream",
        "high",
        f"{timeouts} upstream timeout(s) came with the slot/descriptor alerts: a slow upstream holds each "
        "proxied request's two slots longer, so the same traffic needs more of them. Raising limits buys "
        "headroom; the cause is the upstream" + (f" (slowest: {tops})" if tops else "") + ". Check its latency "
        "and proxy_read_timeout before sizing for the slowness.",
        _sample(c.ev, "upstream-timed-out"),
    )


def worker_processes_vs_cpus(c: Context) -> Finding | None:
    """worker_processes that does not match the CPUs nginx can use."""
    if c.rec is None or c.rec.recommended_worker_processes is None or not c.rec.worker_processes_reason:
        return None
    if c.rec.recommended_worker_processes == c.rec.workers_current:
        return None
    return Finding(
        "worker-processes-vs-cpus",
        "medium",
        f"worker_processes: {c.rec.worker_processes_reason}",
        [f"worker_processes now {c.rec.workers_current}", f"nproc {c.ev.nproc}"]
        + ([f"CPU quota {c.ev.cpu_quota:g}"] if c.ev.cpu_quota else []),
    )


FINDING_RULES: tuple[Rule, ...] = (
    proxy_loop,
    cache_manager_connections,
    fd_limit_below_connections,
    setrlimit_not_permitted,
    limits_read_from_master,
    limits_conf_ignored_by_systemd,
    restart_needed,
    old_workers_keep_limits,
    slow_upstream,
    worker_processes_vs_cpus,
)


def cross_findings(ev: Collected, rec: SizingRecommendation | None, environment: str) -> list[Finding]:
    """Every finding whose rule fires on this evidence."""
    ctx = Context(ev, rec, environment)
    return [f for rule in FINDING_RULES if (f := rule(ctx)) is not None]
