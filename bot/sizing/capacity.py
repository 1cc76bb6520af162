"""What the running configuration can carry: slots, requests and descriptors per worker.

The arithmetic follows the nginx source and the measurements in NGINX-FACTS 3 and 8:
every worker has its own ``worker_connections`` slots, spends one on each listening
socket and one on its channel to the master, and a proxied HTTP/1.x request holds two
(client and upstream). Descriptors are a separate ceiling; whichever runs out first
binds. Every number comes with the sentence that produced it, because users are shown
the arithmetic, not just the answer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.sizing.rules import (
    CACHE_MANAGER_CONNECTIONS,
    CHANNEL_SLOTS,
    COMPILED_DEFAULT_WORKER_CONNECTIONS,
    DEFAULT_LISTENERS,
    DEFAULT_RULES,
    SizingRules,
    slots_per_request,
)

InputValue = int | float | bool | str | None


@dataclass(frozen=True, slots=True)
class SizingInput:
    """Everything sizing may use; every field is optional because evidence arrives piecemeal.

    ``worker_processes``: the caller resolves ``auto`` to the online CPU count (or None
    when unknown) and passes 1 when the directive is absent (nginx's default); None means
    unknown. ``worker_connections`` None means unset: the compiled default 512 applies.
    ``listeners``: distinct listening sockets (each is open in every worker).
    ``upstream_keepalive``: sum of ``keepalive N`` over the upstream blocks in use.
    ``worker_nofile_*`` come from a worker's /proc/PID/limits, ``master_nofile_*`` from the
    master's. ``observed_alert_worker_connections`` is N in "N worker_connections are not
    enough". ``observed_concurrency`` is concurrent client connections seen (e.g. ss).
    ``target_concurrency`` is the peak concurrent requests the user wants carried.
    """

    worker_processes: int | None = None
    nproc: int | None = None
    cpu_quota: float | None = None
    worker_connections: int | None = None
    worker_rlimit_nofile: int | None = None
    listeners: int | None = None
    upstream_keepalive: int | None = None
    http2: bool = False
    http3: bool = False
    worker_nofile_soft: int | None = None
    worker_nofile_hard: int | None = None
    master_nofile_soft: int | None = None
    master_nofile_hard: int | None = None
    master_is_root: bool | None = None
    user_directive: str | None = None
    systemd_limit_nofile: int | None = None
    fs_nr_open: int | None = None
    fs_file_max: int | None = None
    observed_alert_worker_connections: int | None = None
    observed_concurrency: int | None = None
    target_concurrency: int | None = None
    proxied: bool | None = None
    failed_requests_hint: int | None = None

    def used(self, *names: str) -> dict[str, InputValue]:
        """The named fields and their values: what a result records as its inputs."""
        values: dict[str, InputValue] = asdict(self)
        return {name: values[name] for name in names}


def positive(value: int | None) -> int | None:
    """A count that means something, or None: zero and negative counts are treated as unknown."""
    return value if value is not None and value >= 1 else None


def plural(n: int, word: str) -> str:
    """``1 listening socket`` / ``2 listening sockets``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- descriptor limits (NGINX-FACTS 3.3) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inherited:
    """The open-file limit a worker starts with, before any worker_rlimit_nofile."""

    soft: int | None
    hard: int | None
    source: str


def inherited_limit(inp: SizingInput) -> Inherited:
    """The master's limit, which every worker inherits at fork.

    A worker's own /proc limits show the inherited values only when worker_rlimit_nofile
    did not replace them (unset, or the worker's values differ from it: setrlimit failed).
    """
    soft, hard = positive(inp.master_nofile_soft), positive(inp.master_nofile_hard)
    if soft is not None or hard is not None:
        return Inherited(soft, hard, "the master's /proc/PID/limits")
    systemd = positive(inp.systemd_limit_nofile)
    if systemd is not None:
        return Inherited(systemd, systemd, "systemd LimitNOFILE")
    wsoft, whard = positive(inp.worker_nofile_soft), positive(inp.worker_nofile_hard)
    rlimit = positive(inp.worker_rlimit_nofile)
    replaced = rlimit is not None and rlimit in (wsoft, whard)
    if (wsoft is not None or whard is not None) and not replaced:
        return Inherited(wsoft, whard, "a worker's /proc/PID/limits (inherited from the master)")
    return Inherited(None, None, "unknown")


def rlimit_applies(inp: SizingInput, value: int) -> tuple[bool | None, str]:
    """Whether a worker's ``setrlimit(RLIMIT_NOFILE, value)`` succeeds, and why.

    It runs in each worker before setuid(): a root master's workers may raise the hard
    limit (up to fs.nr_open); otherwise the value must fit under the inherited hard limit.
    """
    nr_open = positive(inp.fs_nr_open)
    if nr_open is not None and value > nr_open:
        return False, f"{value} is above fs.nr_open {nr_open}: setrlimit() fails even for root"
    hard = inherited_limit(inp).hard
    if hard is not None and value <= hard:
        return True, f"{value} fits under the inherited hard limit {hard}: no privilege needed"
    if inp.master_is_root is True:
        cap = f"fs.nr_open {nr_open}" if nr_open is not None else "fs.nr_open"
        return True, (f"the master runs as root, so each worker may raise its hard limit before setuid() (up to {cap})")
    if inp.master_is_root is False:
        if hard is not None:
            return False, (
                f"the master is not root and {value} is above the hard limit {hard} workers inherit: "
                f"setrlimit() fails with EPERM and workers keep {hard}"
            )
        return None, "the master is not root and its hard limit is unknown"
    if hard is not None:
        return None, (
            f"{value} is above the inherited hard limit {hard}; only a root master's workers "
            f"may exceed it, and whether the master runs as root is unknown"
        )
    return None, "whether the master runs as root and its hard limit are both unknown"


@dataclass(frozen=True, slots=True)
class FdLimit:
    """A worker's effective soft open-file limit and how it was found."""

    value: int | None
    source: str
    explain: list[str]


def worker_fd_limit(inp: SizingInput) -> FdLimit:
    """Effective per-worker limit: read from a worker if pasted, else predicted from config and master."""
    rlimit = positive(inp.worker_rlimit_nofile)
    observed = positive(inp.worker_nofile_soft)
    if observed is not None:
        lines = [f"open files per worker: {observed} (soft limit read from a worker's /proc/PID/limits)"]
        if rlimit is not None and rlimit != observed:
            lines.append(
                f"that differs from worker_rlimit_nofile {rlimit}: setrlimit() failed in the worker, "
                f"or this worker started before the last reload (old workers keep old limits)"
            )
        return FdLimit(observed, "worker /proc/PID/limits", lines)
    inherited = inherited_limit(inp)
    if rlimit is not None:
        applies, why = rlimit_applies(inp, rlimit)
        if applies is True:
            return FdLimit(
                rlimit, "worker_rlimit_nofile", [f"open files per worker: worker_rlimit_nofile {rlimit} ({why})"]
            )
        if applies is None:
            return FdLimit(
                rlimit,
                "worker_rlimit_nofile (assumed to apply)",
                [
                    f"open files per worker: worker_rlimit_nofile {rlimit}, assuming setrlimit() succeeds "
                    f"({why}); paste a worker's /proc/PID/limits to be sure"
                ],
            )
        if inherited.soft is not None:
            return FdLimit(
                inherited.soft,
                f"inherited from the master ({inherited.source})",
                [
                    f"open files per worker: {inherited.soft} inherited from the master ({inherited.source}), "
                    f"not worker_rlimit_nofile {rlimit}: {why}"
                ],
            )
        return FdLimit(
            None, "unknown", [f"worker_rlimit_nofile {rlimit} cannot apply ({why}) and the inherited limit is unknown"]
        )
    if inherited.soft is not None:
        return FdLimit(
            inherited.soft,
            f"inherited from the master ({inherited.source})",
            [
                f"open files per worker: {inherited.soft} inherited from the master ({inherited.source}); "
                f"worker_rlimit_nofile is not set"
            ],
        )
    return FdLimit(None, "unknown", ["open files per worker: unknown (paste a worker's /proc/PID/limits)"])


# --- capacity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """What one configuration carries, per worker and in total, with its arithmetic.

    ``slot_*`` values count worker_connections slots only; ``clients_per_worker`` and
    ``proxied_requests_per_worker`` are also bounded by descriptors when the fd limit is
    known. Totals assume an even spread, which nginx does not give: see
    ``proxied_requests_until_busiest_full``.
    """

    workers: int | None
    worker_connections: int
    worker_connections_source: str
    listeners: int
    reserved_keepalive: int
    slots_per_worker: int
    slots_per_static_request: int
    slots_per_proxied_request: int
    slot_clients_per_worker: int
    slot_proxied_per_worker: int
    fd_limit_per_worker: int | None
    fd_limit_source: str
    fd_sockets_per_worker: int | None
    clients_per_worker: int
    proxied_requests_per_worker: int
    max_connections: int | None
    max_proxied_requests: int | None
    proxied_requests_until_busiest_full: int | None
    binds_first: str
    cache_manager_alert: bool
    inputs: dict[str, InputValue] = field(default_factory=dict)
    explain: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``capacity`` object (DESIGN.md contract keys first, then the rest)."""
        out: dict[str, Any] = {
            "workers": self.workers,
            "worker_connections": self.worker_connections,
            "max_connections": self.max_connections,
            "max_proxied_requests": self.max_proxied_requests,
            "fd_limit_per_worker": self.fd_limit_per_worker,
        }
        out.update({k: v for k, v in asdict(self).items() if k not in out})
        return out


def current_worker_connections(inp: SizingInput) -> tuple[int, str, str]:
    """The worker_connections workers run with: (value, source, sentence)."""
    configured = positive(inp.worker_connections)
    if configured is not None:
        return configured, "config", f"worker_connections {configured} (from the config)"
    alert = positive(inp.observed_alert_worker_connections)
    if alert is not None and alert != COMPILED_DEFAULT_WORKER_CONNECTIONS:
        return (
            alert,
            "alert",
            (
                f"worker_connections {alert} (no config given; taken from the "
                f'"{alert} worker_connections are not enough" alert)'
            ),
        )
    return (
        COMPILED_DEFAULT_WORKER_CONNECTIONS,
        "compiled default",
        f"worker_connections not set: compiled default {COMPILED_DEFAULT_WORKER_CONNECTIONS}",
    )


def is_cache_manager_alert(inp: SizingInput) -> bool:
    """``512 worker_connections are not enough`` while workers have another value: the cache
    manager or loader (hard-coded 512), usually a module running inside it."""
    alert = positive(inp.observed_alert_worker_connections)
    configured = positive(inp.worker_connections)
    return alert == CACHE_MANAGER_CONNECTIONS and configured is not None and configured != CACHE_MANAGER_CONNECTIONS


def capacity(inp: SizingInput, rules: SizingRules = DEFAULT_RULES) -> Capacity:
    """Slots, clients and proxied requests per worker and in total, and which limit binds first."""
    explain: list[str] = []
    wc, wc_source, wc_line = current_worker_connections(inp)
    explain.append(wc_line)

    listeners = inp.listeners if inp.listeners is not None and inp.listeners >= 0 else None
    if listeners is None:
        listeners = DEFAULT_LISTENERS
        explain.append(
            f"listening sockets unknown: assuming {DEFAULT_LISTENERS} (each distinct listen "
            f"address:port takes a slot in every worker)"
        )
    keepalive = inp.upstream_keepalive if inp.upstream_keepalive is not None and inp.upstream_keepalive > 0 else 0

    slots = max(0, wc - listeners - CHANNEL_SLOTS)
    explain.append(
        f"usable slots per worker = {wc} - {plural(listeners, 'listening socket')} "
        f"- {CHANNEL_SLOTS} channel to the master = {slots}"
    )
    if wc < listeners + CHANNEL_SLOTS:
        explain.append(
            f'nginx refuses to start: "{wc} worker_connections are not enough for {listeners} listening sockets"'
        )

    per_static = slots_per_request(proxied=False, http3=inp.http3)
    per_proxied = slots_per_request(proxied=True, http3=inp.http3)
    slot_clients = slots // per_static
    slot_proxied = max(0, slots - keepalive) // per_proxied
    if per_static == 1:
        explain.append(f"static or local requests: one slot per client connection = {slot_clients} per worker")
    else:
        explain.append(
            f"HTTP/3 requests: each QUIC stream takes a slot and its connection another, worst case "
            f"{per_static} per request: floor({slots} / {per_static}) = {slot_clients} per worker"
        )
    reserve = f"({slots} - {keepalive} idle upstream keepalive)" if keepalive else f"{slots}"
    if keepalive:
        explain.append(
            f"idle upstream keepalive connections keep their slots: up to {keepalive} per worker "
            f"(sum of keepalive N over the upstreams)"
        )
    explain.append(
        f"proxied requests: {per_proxied} slots each (client{' stream + QUIC connection' if inp.http3 else ''}"
        f" + upstream): floor({reserve} / {per_proxied}) = {slot_proxied} per worker"
    )
    if inp.http2:
        explain.append(
            "HTTP/2 streams share their connection's slot, so HTTP/2 clients can carry more requests "
            "than this; the figures above are the HTTP/1.x worst case"
        )

    fd = worker_fd_limit(inp)
    explain.extend(fd.explain)
    fd_sockets: int | None = None
    clients, proxied = slot_clients, slot_proxied
    binds = "unknown"
    if fd.value is not None:
        fd_sockets = max(0, fd.value - rules.fd_overhead_per_worker - listeners - CHANNEL_SLOTS)
        explain.append(
            f"descriptors for connections = {fd.value} - {rules.fd_overhead_per_worker} for logs, "
            f"epoll and files - {plural(listeners, 'listener')} - {CHANNEL_SLOTS} channel = {fd_sockets}"
        )
        fd_clients = fd_sockets // per_static
        fd_proxied = max(0, fd_sockets - keepalive) // per_proxied
        if fd_sockets < slots:
            binds = "open_files"
            clients, proxied = min(clients, fd_clients), min(proxied, fd_proxied)
            explain.append(
                f'open files run out before worker_connections: a worker fails with "Too many open '
                f'files" at {clients} clients or {proxied} proxied requests, before its {slots} slots fill'
            )
        else:
            binds = "worker_connections"
            explain.append(f"worker_connections binds first: {slots} slots, {fd_sockets} descriptors for them")

    workers = positive(inp.worker_processes)
    max_conn = max_proxied = until_busiest = None
    if workers is not None:
        max_conn, max_proxied = workers * clients, workers * proxied
        explain.append(
            f"total with {plural(workers, 'worker')}: {workers} x {clients} = {max_conn} connections, "
            f"{workers} x {proxied} = {max_proxied} proxied requests, if spread evenly"
        )
        share = rules.busiest_share(workers)
        until_busiest = math.floor(proxied / share)
        if workers > 1:
            explain.append(
                f"connections do not spread evenly: if the busiest worker takes {share:.0%} of them it "
                f"is full at about {proxied} / {share:.2f} = {until_busiest} proxied requests in total"
            )
    else:
        explain.append("worker_processes unknown: no totals (capacity is per worker)")

    cache_mgr = is_cache_manager_alert(inp)
    if cache_mgr:
        explain.append(
            f"the alert says {CACHE_MANAGER_CONNECTIONS} but workers have {wc}: it comes from the cache "
            f"manager or loader, which always has {CACHE_MANAGER_CONNECTIONS} slots (usually a module "
            f"running inside it); raising worker_connections does not change that"
        )

    return Capacity(
        workers=workers,
        worker_connections=wc,
        worker_connections_source=wc_source,
        listeners=listeners,
        reserved_keepalive=keepalive,
        slots_per_worker=slots,
        slots_per_static_request=per_static,
        slots_per_proxied_request=per_proxied,
        slot_clients_per_worker=slot_clients,
        slot_proxied_per_worker=slot_proxied,
        fd_limit_per_worker=fd.value,
        fd_limit_source=fd.source,
        fd_sockets_per_worker=fd_sockets,
        clients_per_worker=clients,
        proxied_requests_per_worker=proxied,
        max_connections=max_conn,
        max_proxied_requests=max_proxied,
        proxied_requests_until_busiest_full=until_busiest,
        binds_first=binds,
        cache_manager_alert=cache_mgr,
        inputs=inp.used(
            "worker_processes",
            "worker_connections",
            "listeners",
            "upstream_keepalive",
            "http2",
            "http3",
            "worker_rlimit_nofile",
            "worker_nofile_soft",
            "worker_nofile_hard",
            "master_nofile_soft",
            "master_nofile_hard",
            "master_is_root",
            "systemd_limit_nofile",
            "fs_nr_open",
            "observed_alert_worker_connections",
        ),
        explain=explain,
    )
