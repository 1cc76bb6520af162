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

from bot.knowledge.texts import say
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
    observed_fd_exhausted: bool | None = None
    """A worker ran out of descriptors (``accept4() failed (24: ...)``): with the limit at about
    ``worker_connections`` both ceilings bind together, and the demand filled the limit."""

    def used(self, *names: str) -> dict[str, InputValue]:
        """The named fields and their values: what a result records as its inputs."""
        values: dict[str, InputValue] = asdict(self)
        return {name: values[name] for name in names}


def positive(value: int | None) -> int | None:
    """A count that means something, or None: zero and negative counts are treated as unknown."""
    return value if value is not None and value >= 1 else None


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
        return Inherited(soft, hard, say("sizing.source_master_limits"))
    systemd = positive(inp.systemd_limit_nofile)
    if systemd is not None:
        return Inherited(systemd, systemd, say("sizing.source_systemd"))
    wsoft, whard = positive(inp.worker_nofile_soft), positive(inp.worker_nofile_hard)
    rlimit = positive(inp.worker_rlimit_nofile)
    replaced = rlimit is not None and rlimit in (wsoft, whard)
    if (wsoft is not None or whard is not None) and not replaced:
        return Inherited(wsoft, whard, say("sizing.source_worker_inherited"))
    return Inherited(None, None, "unknown")


def rlimit_applies(inp: SizingInput, value: int) -> tuple[bool | None, str]:
    """Whether a worker's ``setrlimit(RLIMIT_NOFILE, value)`` succeeds, and why.

    It runs in each worker before setuid(): a root master's workers may raise the hard
    limit (up to fs.nr_open); otherwise the value must fit under the inherited hard limit.
    """
    nr_open = positive(inp.fs_nr_open)
    if nr_open is not None and value > nr_open:
        return False, say("sizing.rlimit_above_nr_open", value=value, nr_open=nr_open)
    hard = inherited_limit(inp).hard
    if hard is not None and value <= hard:
        return True, say("sizing.rlimit_fits_hard", value=value, hard=hard)
    if inp.master_is_root is True:
        return True, say("sizing.rlimit_root_master", nr_open=nr_open)
    if inp.master_is_root is False:
        if hard is not None:
            return False, say("sizing.rlimit_not_root_above_hard", value=value, hard=hard)
        return None, say("sizing.rlimit_not_root_hard_unknown")
    if hard is not None:
        return None, say("sizing.rlimit_above_hard_root_unknown", value=value, hard=hard)
    return None, say("sizing.rlimit_all_unknown")


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
        lines = [say("sizing.fd_observed", observed=observed)]
        if rlimit is not None and rlimit != observed:
            lines.append(say("sizing.fd_observed_differs", rlimit=rlimit))
        return FdLimit(observed, say("sizing.source_worker_limits"), lines)
    inherited = inherited_limit(inp)
    from_master = say("sizing.source_inherited", source=inherited.source)
    if rlimit is not None:
        applies, why = rlimit_applies(inp, rlimit)
        if applies is True:
            return FdLimit(
                rlimit, say("sizing.source_rlimit"), [say("sizing.fd_rlimit_applies", rlimit=rlimit, why=why)]
            )
        if applies is None:
            return FdLimit(
                rlimit, say("sizing.source_rlimit_assumed"), [say("sizing.fd_rlimit_assumed", rlimit=rlimit, why=why)]
            )
        if inherited.soft is not None:
            line = say(
                "sizing.fd_inherited_not_rlimit", soft=inherited.soft, source=inherited.source, rlimit=rlimit, why=why
            )
            return FdLimit(inherited.soft, from_master, [line])
        return FdLimit(None, "unknown", [say("sizing.fd_rlimit_cannot_apply", rlimit=rlimit, why=why)])
    if inherited.soft is not None:
        line = say("sizing.fd_inherited", soft=inherited.soft, source=inherited.source)
        return FdLimit(inherited.soft, from_master, [line])
    return FdLimit(None, "unknown", [say("sizing.fd_unknown")])


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
    """(value, source, sentence) of the worker_connections workers run with."""
    configured = positive(inp.worker_connections)
    if configured is not None:
        return configured, "config", say("sizing.wc_from_config", wc=configured)
    alert = positive(inp.observed_alert_worker_connections)
    if alert is not None and alert != COMPILED_DEFAULT_WORKER_CONNECTIONS:
        return alert, "alert", say("sizing.wc_from_alert", alert=alert)
    default = COMPILED_DEFAULT_WORKER_CONNECTIONS
    return default, "compiled default", say("sizing.wc_compiled_default", default=default)


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
        explain.append(say("sizing.listeners_assumed", listeners=DEFAULT_LISTENERS))
    keepalive = inp.upstream_keepalive if inp.upstream_keepalive is not None and inp.upstream_keepalive > 0 else 0

    slots = max(0, wc - listeners - CHANNEL_SLOTS)
    explain.append(say("sizing.usable_slots", wc=wc, listeners=listeners, channel=CHANNEL_SLOTS, slots=slots))
    if wc < listeners + CHANNEL_SLOTS:
        explain.append(say("sizing.refuses_to_start", wc=wc, listeners=listeners))

    per_static = slots_per_request(proxied=False, http3=inp.http3)
    per_proxied = slots_per_request(proxied=True, http3=inp.http3)
    slot_clients = slots // per_static
    slot_proxied = max(0, slots - keepalive) // per_proxied
    if per_static == 1:
        explain.append(say("sizing.static_requests", clients=slot_clients))
    else:
        explain.append(say("sizing.http3_requests", per=per_static, slots=slots, clients=slot_clients))
    reserve = say("sizing.keepalive_reserve", slots=slots, keepalive=keepalive) if keepalive else f"{slots}"
    if keepalive:
        explain.append(say("sizing.keepalive_slots", keepalive=keepalive))
    explain.append(
        say("sizing.proxied_requests", per=per_proxied, http3=inp.http3, reserve=reserve, proxied=slot_proxied)
    )
    if inp.http2:
        explain.append(say("sizing.http2_streams"))

    fd = worker_fd_limit(inp)
    explain.extend(fd.explain)
    fd_sockets: int | None = None
    clients, proxied = slot_clients, slot_proxied
    binds = "unknown"
    if fd.value is not None:
        fd_sockets = max(0, fd.value - rules.fd_overhead_per_worker - listeners - CHANNEL_SLOTS)
        explain.append(
            say(
                "sizing.fd_for_connections",
                fd=fd.value,
                overhead=rules.fd_overhead_per_worker,
                listeners=listeners,
                channel=CHANNEL_SLOTS,
                sockets=fd_sockets,
            )
        )
        fd_clients = fd_sockets // per_static
        fd_proxied = max(0, fd_sockets - keepalive) // per_proxied
        if fd_sockets < slots:
            binds = "open_files"
            clients, proxied = min(clients, fd_clients), min(proxied, fd_proxied)
            explain.append(say("sizing.open_files_bind_first", clients=clients, proxied=proxied, slots=slots))
        else:
            binds = "worker_connections"
            explain.append(say("sizing.slots_bind_first", slots=slots, sockets=fd_sockets))

    workers = positive(inp.worker_processes)
    max_conn = max_proxied = until_busiest = None
    if workers is not None:
        max_conn, max_proxied = workers * clients, workers * proxied
        explain.append(
            say(
                "sizing.totals",
                workers=workers,
                clients=clients,
                max_conn=max_conn,
                proxied=proxied,
                max_proxied=max_proxied,
            )
        )
        share = rules.busiest_share(workers)
        until_busiest = math.floor(proxied / share)
        if workers > 1:
            explain.append(say("sizing.uneven_spread", share=share, proxied=proxied, until=until_busiest))
    else:
        explain.append(say("sizing.no_totals"))

    cache_mgr = is_cache_manager_alert(inp)
    if cache_mgr:
        explain.append(say("sizing.cache_manager_capacity", cache=CACHE_MANAGER_CONNECTIONS, wc=wc))

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
