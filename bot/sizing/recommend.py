"""From a demand to directive values: worker_connections, worker_rlimit_nofile, the master's
open-file limit and worker_processes, each with the arithmetic that produced it.

The demand is a target concurrency: given by the user, or derived from evidence and said
so. worker_connections is sized for the busiest worker, not the average (nginx does not
spread connections evenly), and never lowered. The descriptor limit follows what the
source checks (1x) plus the usual advice (2x), capped by what the kernel and the master's
privileges allow; when the master's own limit is the ceiling, only a restart lifts it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.sizing.capacity import (
    Capacity,
    InputValue,
    SizingInput,
    capacity,
    inherited_limit,
    is_cache_manager_alert,
    plural,
    positive,
    rlimit_applies,
)
from bot.sizing.rules import CACHE_MANAGER_CONNECTIONS, CHANNEL_SLOTS, DEFAULT_RULES, SizingRules

SS_HINT = (
    "paste `ss -Htn state established '( sport = :80 or sport = :443 )' | wc -l` taken at peak, "
    "or pass --target-concurrency N (peak concurrent requests)"
)


@dataclass(frozen=True)
class Target:
    """Peak concurrent requests the fix must carry, where that number came from, and how.

    ``source`` is ``given``, ``observed``, ``alert`` or ``none`` (``value`` is None then).
    """

    value: int | None
    source: str
    inputs: dict[str, InputValue] = field(default_factory=dict)
    explain: list[str] = field(default_factory=list)


def _alert_target(inp: SizingInput, rules: SizingRules, explain: list[str]) -> int | None:
    """Demand implied by ``N worker_connections are not enough``: one worker was full."""
    alert = positive(inp.observed_alert_worker_connections)
    if alert is None:
        return None
    if is_cache_manager_alert(inp):
        explain.append(
            f'the "{alert} worker_connections are not enough" alert comes from the cache manager or '
            f"loader ({CACHE_MANAGER_CONNECTIONS} slots, hard-coded), not from a worker: it says nothing "
            f"about client demand"
        )
        return None
    configured = positive(inp.worker_connections)
    if configured is not None and configured != alert:
        explain.append(
            f"the alert names {alert} but the config says {configured}: the config changed since, or "
            f"the alert is from another instance; sizing from the alert's {alert}"
        )
    at_alert = capacity(
        replace(
            inp,
            worker_connections=alert,
            worker_nofile_soft=None,
            worker_rlimit_nofile=None,
            master_nofile_soft=None,
            master_nofile_hard=None,
            systemd_limit_nofile=None,
        ),
        rules,
    )
    proxied = inp.proxied is not False
    ceiling = at_alert.slot_proxied_per_worker if proxied else at_alert.slot_clients_per_worker
    kind = "proxied" if proxied else "client"
    explain.append(
        f"a worker ran out of its {alert} slots: it was carrying about {ceiling} {kind} requests "
        f"({at_alert.slots_per_worker} usable slots)"
    )
    demand: float = max(1, ceiling)
    workers = positive(inp.worker_processes)
    share = rules.busiest_share(workers)
    if workers is not None and workers > 1:
        demand = max(1, ceiling) / share
        explain.append(
            f"with {workers} workers the busiest carries about {share:.0%} of the load: total demand was "
            f"at least {max(1, ceiling)} / {share:.2f} = {math.ceil(demand)}"
        )
    value = math.ceil(demand * rules.alert_target_factor)
    explain.append(
        f"how far demand went past that ceiling is unknown (nginx first closes idle keepalive "
        f"connections, and logs few alerts for many failures): aiming for "
        f"{rules.alert_target_factor:g}x = {value} concurrent requests"
    )
    hint = positive(inp.failed_requests_hint)
    if hint is not None:
        explain.append(
            f"{plural(hint, 'failed request')} counted: a lower bound over time, not a concurrency; "
            f"the log understates failures"
        )
    return value


def target_concurrency(inp: SizingInput, rules: SizingRules = DEFAULT_RULES) -> Target:
    """The given target, else one derived from ss counts or the alert's N, saying how; never invented."""
    inputs = inp.used(
        "target_concurrency",
        "observed_concurrency",
        "observed_alert_worker_connections",
        "worker_processes",
        "worker_connections",
        "listeners",
        "upstream_keepalive",
        "proxied",
        "http3",
        "failed_requests_hint",
    )
    given = positive(inp.target_concurrency)
    if given is not None:
        return Target(given, "given", inputs, [f"target: {given} concurrent requests (given)"])
    explain: list[str] = []
    observed_value: int | None = None
    observed = positive(inp.observed_concurrency)
    if observed is not None:
        observed_value = math.ceil(observed * rules.observed_target_factor)
        explain.append(
            f"{observed} concurrent connections were observed; a snapshot is not the peak: "
            f"{observed} x {rules.observed_target_factor:g} = {observed_value}"
        )
    alert_value = _alert_target(inp, rules, explain)
    if observed_value is None and alert_value is None:
        explain.append(f"no target concurrency: {SS_HINT}")
        return Target(None, "none", inputs, explain)
    if alert_value is not None and (observed_value is None or alert_value > observed_value):
        if observed_value is not None:
            explain.append(f"the alert proves more demand than the snapshot shows: using {alert_value}")
        explain.append(
            f"target: {alert_value} concurrent requests (derived from the alert; pass "
            f"--target-concurrency to size for a known peak)"
        )
        return Target(alert_value, "alert", inputs, explain)
    assert observed_value is not None
    explain.append(f"target: {observed_value} concurrent requests (derived from the observed count)")
    return Target(observed_value, "observed", inputs, explain)


@dataclass(frozen=True)
class Recommendation:
    """Directive values that carry the target, the flags that say how to apply them, and why.

    ``recommended_worker_rlimit_nofile`` is the value to configure. When it only takes
    effect after the master's own limit is raised, ``recommended_limit_nofile`` is that
    master limit (systemd ``LimitNOFILE=``, docker ``--ulimit``), ``needs_restart`` is True,
    and ``worker_rlimit_nofile_without_restart`` is the most a reload alone can give.
    ``needs_restart``/``can_raise_in_worker`` are None when that depends on evidence
    not given (whether the master is root, its hard limit).
    """

    target: Target
    workers_current: int | None
    recommended_worker_processes: int | None
    worker_processes_reason: str | None
    busiest_share: float
    sized_as_proxied: bool
    worker_connections_current: int
    needed_slots_per_worker: int | None
    recommended_worker_connections: int
    worker_rlimit_nofile_current: int | None
    recommended_worker_rlimit_nofile: int | None
    worker_rlimit_nofile_without_restart: int | None
    recommended_limit_nofile: int | None
    needs_restart: bool | None
    can_raise_in_worker: bool | None
    can_raise_reason: str
    cache_manager_alert: bool
    capacity_before: Capacity
    capacity_after: Capacity
    inputs: dict[str, InputValue] = field(default_factory=dict)
    explain: list[str] = field(default_factory=list)

    def template_vars(self) -> dict[str, Any]:
        """The ``sizing`` mapping KB fix templates read: only values that change something."""
        out: dict[str, Any] = {}
        if self.recommended_worker_connections != self.worker_connections_current:
            out["recommended_worker_connections"] = self.recommended_worker_connections
        if (
            self.recommended_worker_rlimit_nofile is not None
            and self.recommended_worker_rlimit_nofile != self.worker_rlimit_nofile_current
        ):
            out["recommended_worker_rlimit_nofile"] = self.recommended_worker_rlimit_nofile
        if self.worker_rlimit_nofile_without_restart is not None:
            out["worker_rlimit_nofile_without_restart"] = self.worker_rlimit_nofile_without_restart
        if self.recommended_limit_nofile is not None:
            out["recommended_limit_nofile"] = self.recommended_limit_nofile
        if self.recommended_worker_processes is not None:
            out["recommended_worker_processes"] = self.recommended_worker_processes
        if self.target.value is not None:
            out["target_concurrency"] = self.target.value
            out["target_source"] = self.target.source
        out["needs_restart"] = self.needs_restart
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form, capacities included."""
        out = asdict(self)
        out["capacity_before"] = self.capacity_before.to_dict()
        out["capacity_after"] = self.capacity_after.to_dict()
        return out


def usable_cpus(inp: SizingInput) -> int | None:
    """CPUs nginx can keep busy: online CPUs, lowered to a CPU quota rounded up."""
    nproc = positive(inp.nproc)
    if inp.cpu_quota is None or inp.cpu_quota <= 0:
        return nproc
    quota_cpus = max(1, math.ceil(inp.cpu_quota))
    return quota_cpus if nproc is None else min(nproc, quota_cpus)


def recommend_worker_processes(inp: SizingInput) -> tuple[int | None, str | None]:
    """A lower worker_processes when it exceeds the CPUs the process may use, else (None, None).

    ``auto`` counts all online CPUs and ignores a container's CPU quota, so a 2-CPU
    container on a 64-CPU host runs 64 workers. A fractional quota rounds up: a worker
    per partly usable CPU.
    """
    workers, nproc = positive(inp.worker_processes), positive(inp.nproc)
    quota = inp.cpu_quota if inp.cpu_quota is not None and inp.cpu_quota > 0 else None
    if workers is None:
        return None, None
    quota_cpus = max(1, math.ceil(quota)) if quota is not None else None
    if quota_cpus is not None and (nproc is None or quota_cpus < nproc):
        if workers > quota_cpus:
            seen = f"; `auto` counts all {nproc} online CPUs and ignores the quota" if nproc is not None else ""
            return quota_cpus, (
                f"worker_processes {workers} is more than the {quota:g} CPUs the container's CPU quota "
                f"(cgroup cpu.max) allows{seen}: set worker_processes {quota_cpus}"
            )
        return None, None
    if nproc is not None and workers > nproc:
        return nproc, (
            f"worker_processes {workers} is more than the {nproc} online CPUs: set worker_processes auto (or {nproc})"
        )
    return None, None


def _size_worker_connections(
    inp: SizingInput,
    rules: SizingRules,
    before: Capacity,
    target: Target,
    workers: int | None,
    proxied: bool,
    explain: list[str],
) -> tuple[int, int | None]:
    """(recommended worker_connections, slots the busiest worker needs or None without a target)."""
    current = before.worker_connections
    if target.value is None:
        why = "the alert is the cache manager's" if before.cache_manager_alert else "no target concurrency to size for"
        explain.append(f"worker_connections stays {current}: {why}")
        return current, None
    share = rules.busiest_share(workers)
    busiest = math.ceil(target.value * share)
    if workers is not None and workers > 1:
        explain.append(
            f"busiest worker: {target.value} x {share:.2f} = {busiest} concurrent requests "
            f"(connections do not spread evenly over {workers} workers)"
        )
    elif workers is None:
        explain.append(f"worker_processes unknown: sizing each worker for all {busiest} requests")
    else:
        explain.append(f"one worker carries all {busiest} requests")
    per = before.slots_per_proxied_request if proxied else before.slots_per_static_request
    keepalive = before.reserved_keepalive if proxied else 0
    reserved = before.listeners + CHANNEL_SLOTS + keepalive
    needed = math.ceil(busiest * per * rules.headroom_factor) + reserved
    kind = "proxied" if proxied else "static"
    assumed = " (assumed proxied: the worst case)" if inp.proxied is None else ""
    extra = f" + {keepalive} keepalive" if keepalive else ""
    explain.append(
        f"slots needed per worker = {busiest} {kind} requests{assumed} x {per} slots x "
        f"{rules.headroom_factor:g} headroom + {plural(before.listeners, 'listener')} + {CHANNEL_SLOTS} "
        f"channel{extra} = {needed}"
    )
    if needed <= current:
        explain.append(f"worker_connections {current} already covers {needed}: keep it")
        return current, needed
    rounded = max(rules.round_up(needed), rules.min_raised_worker_connections)
    explain.append(
        f"worker_connections {current} -> {rounded} ({needed} rounded up; a slot costs a few hundred "
        f"bytes, a failed request costs a user); applies on reload"
    )
    return rounded, needed


def recommend(inp: SizingInput, rules: SizingRules = DEFAULT_RULES) -> Recommendation:
    """Recommended worker_connections, worker_rlimit_nofile, master limit and worker_processes."""
    explain: list[str] = []
    before = capacity(inp, rules)
    target = target_concurrency(inp, rules)
    explain.extend(target.explain)

    wp_rec, wp_reason = recommend_worker_processes(inp)
    workers_now = positive(inp.worker_processes)
    workers = wp_rec if wp_rec is not None else workers_now
    if wp_reason is not None:
        explain.append(wp_reason)
    else:
        cpus = usable_cpus(inp)
        if workers_now is not None and cpus is not None and workers_now < cpus:
            explain.append(
                f"worker_processes {workers_now} is fewer than the {cpus} usable CPUs: fine if intended; "
                f"each worker then carries a larger share"
            )

    proxied = inp.proxied is not False
    wc, needed = _size_worker_connections(inp, rules, before, target, workers, proxied, explain)
    if before.cache_manager_alert:
        explain.append(
            f"the {CACHE_MANAGER_CONNECTIONS}-slot alert is the cache manager's: find the module that "
            f"opens connections there (e.g. an upstream health check); worker_connections cannot "
            f"change it"
        )

    # --- descriptors (NGINX-FACTS 3.3, 3.4) ---
    current_rl = positive(inp.worker_rlimit_nofile)
    advised = max(math.ceil(wc * rules.rlimit_advice_factor), wc + rules.fd_overhead_per_worker)
    want = rules.round_up(advised)
    explain.append(
        f"worker_rlimit_nofile: nginx checks only >= worker_connections ({wc}); advice is "
        f"{rules.rlimit_advice_factor:g}x for files, temp files and logs: {advised} -> {want}"
    )
    rl = want
    if current_rl is not None and current_rl > want:
        rl = current_rl
        explain.append(f"worker_rlimit_nofile {current_rl} is already above that: keep it")
    nr_open = positive(inp.fs_nr_open)
    if nr_open is not None and rl > nr_open:
        explain.append(f"capped at fs.nr_open {nr_open}: no process may open more, root included")
        rl = nr_open
        if wc > nr_open:
            explain.append(
                f"worker_connections {wc} cannot be backed by descriptors (fs.nr_open {nr_open}): raise "
                f"fs.nr_open with sysctl, or spread the load over more workers or hosts"
            )

    applies, why = rlimit_applies(inp, rl)
    inherited = inherited_limit(inp)
    without_restart: int | None = None
    limit_nofile: int | None = None
    needs_restart: bool | None
    if applies is True:
        needs_restart = False
        explain.append(f"worker_rlimit_nofile {rl} takes effect on reload: {why}")
    elif applies is False:
        needs_restart = True
        limit_nofile = rl
        without_restart = inherited.hard
        explain.append(f"worker_rlimit_nofile {rl} cannot take effect yet: {why}")
        explain.append(
            f"raise the master's own limit to {rl} (systemd: LimitNOFILE={rl} via `systemctl edit nginx`, "
            f"then `systemctl daemon-reload`; docker: --ulimit nofile={rl}:{rl}) and restart nginx: a "
            f"reload keeps the old master and its limit"
        )
        if without_restart is not None:
            low = (
                f", below worker_connections {wc}: workers would run out of descriptors before slots"
                if without_restart < wc
                else ""
            )
            explain.append(
                f"until that restart, the most a reload can give is worker_rlimit_nofile {without_restart}{low}"
            )
    else:
        needs_restart = None
        if inp.master_is_root is False or inherited.hard is not None:
            limit_nofile = rl
            explain.append(
                f"worker_rlimit_nofile {rl} may not take effect: {why}; if "
                f"`setrlimit(RLIMIT_NOFILE, {rl}) failed (1: Operation not permitted)` appears after the "
                f"reload, raise the master's limit (systemd LimitNOFILE={rl}, docker --ulimit "
                f"nofile={rl}:{rl}) and restart"
            )
            without_restart = inherited.hard
        else:
            explain.append(
                f"worker_rlimit_nofile {rl} takes effect on reload if the master runs as root or its hard "
                f"limit is at least {rl} ({why}); check with `ps -o user= -p $(cat /run/nginx.pid)`"
            )
    if inp.user_directive and inp.master_is_root is not None:
        explain.append(
            f"`user {inp.user_directive}` only changes the workers after setrlimit(); what counts is "
            f"that the master {'runs' if inp.master_is_root else 'does not run'} as root"
        )

    file_max = positive(inp.fs_file_max)
    if file_max is not None and workers is not None and workers * rl > file_max:
        explain.append(
            f"{workers} workers x {rl} = {workers * rl} descriptors is above fs.file-max {file_max}: the "
            f"host could run out first (errno 23); raise fs.file-max in /etc/sysctl.d/"
        )

    plan = replace(
        inp,
        worker_connections=wc,
        worker_rlimit_nofile=rl,
        worker_processes=workers,
        worker_nofile_soft=None,
        worker_nofile_hard=None,
    )
    if limit_nofile is not None:
        plan = replace(plan, master_nofile_soft=limit_nofile, master_nofile_hard=limit_nofile)
    after = capacity(plan, rules)
    when = " (once the master's limit is raised)" if limit_nofile is not None else ""
    total = (
        f", {after.max_proxied_requests} in total across {plural(after.workers or 0, 'worker')}"
        if after.max_proxied_requests is not None
        else ""
    )
    explain.append(f"after the change{when}: {after.proxied_requests_per_worker} proxied requests per worker{total}")

    return Recommendation(
        target=target,
        workers_current=workers_now,
        recommended_worker_processes=wp_rec,
        worker_processes_reason=wp_reason,
        busiest_share=rules.busiest_share(workers),
        sized_as_proxied=proxied,
        worker_connections_current=before.worker_connections,
        needed_slots_per_worker=needed,
        recommended_worker_connections=wc,
        worker_rlimit_nofile_current=current_rl,
        recommended_worker_rlimit_nofile=rl,
        worker_rlimit_nofile_without_restart=without_restart,
        recommended_limit_nofile=limit_nofile,
        needs_restart=needs_restart,
        can_raise_in_worker=applies,
        can_raise_reason=why,
        cache_manager_alert=before.cache_manager_alert,
        capacity_before=before,
        capacity_after=after,
        inputs=inp.used(*SizingInput.__dataclass_fields__),
        explain=explain,
    )
