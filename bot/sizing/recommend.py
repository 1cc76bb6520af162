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

from bot.knowledge.texts import say
from bot.sizing.capacity import (
    Capacity,
    InputValue,
    SizingInput,
    capacity,
    inherited_limit,
    is_cache_manager_alert,
    positive,
    rlimit_applies,
)
from bot.sizing.rules import (
    CACHE_MANAGER_CONNECTIONS,
    CHANNEL_SLOTS,
    COMPILED_DEFAULT_WORKER_CONNECTIONS,
    DEFAULT_RULES,
    SizingRules,
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


def fd_exhausted_at(inp: SizingInput, rules: SizingRules = DEFAULT_RULES) -> int | None:
    """The descriptor limit a worker ran out at, when it sits at about ``worker_connections``.

    Then the open-file limit and the slots bind together: a worker that hit EMFILE at 1024
    descriptors also had about 1024 connections, so the demand is read like the alert's N
    and both limits rise (raising only the descriptors moves the failure to "worker_connections
    are not enough" at almost the same load).
    """
    if not inp.observed_fd_exhausted:
        return None
    fd = capacity(inp, rules).fd_limit_per_worker
    wc = positive(inp.worker_connections) or COMPILED_DEFAULT_WORKER_CONNECTIONS
    if fd is None or not (wc // 2 <= fd <= wc + wc // 10):
        return None
    return fd


def _alert_target(inp: SizingInput, rules: SizingRules, explain: list[str]) -> int | None:
    """Demand implied by ``N worker_connections are not enough`` (one worker was full), or by
    descriptors exhausted at about ``worker_connections``."""
    alert = positive(inp.observed_alert_worker_connections)
    if alert is None:
        alert = fd_exhausted_at(inp, rules)
        if alert is None:
            return None
        explain.append(say("sizing.fd_exhausted_at", fd=alert, wc=inp.worker_connections or alert))
    if is_cache_manager_alert(inp):
        explain.append(say("sizing.alert_is_cache_manager", alert=alert, cache=CACHE_MANAGER_CONNECTIONS))
        return None
    configured = positive(inp.worker_connections)
    if configured is not None and configured != alert:
        explain.append(say("sizing.alert_config_differs", alert=alert, configured=configured))
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
        say("sizing.alert_worker_full", alert=alert, ceiling=ceiling, kind=kind, slots=at_alert.slots_per_worker)
    )
    demand: float = max(1, ceiling)
    workers = positive(inp.worker_processes)
    share = rules.busiest_share(workers)
    if workers is not None and workers > 1:
        demand = max(1, ceiling) / share
        explain.append(
            say(
                "sizing.alert_total_demand",
                workers=workers,
                share=share,
                ceiling=max(1, ceiling),
                demand=math.ceil(demand),
            )
        )
    value = math.ceil(demand * rules.alert_target_factor)
    explain.append(say("sizing.alert_aim", factor=rules.alert_target_factor, value=value))
    hint = positive(inp.failed_requests_hint)
    if hint is not None:
        explain.append(say("sizing.alert_failed_requests", hint=hint))
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
        "observed_fd_exhausted",
    )
    given = positive(inp.target_concurrency)
    if given is not None:
        return Target(given, "given", inputs, [say("sizing.target_given", value=given)])
    explain: list[str] = []
    observed_value: int | None = None
    observed = positive(inp.observed_concurrency)
    if observed is not None:
        observed_value = math.ceil(observed * rules.observed_target_factor)
        explain.append(
            say(
                "sizing.observed_snapshot",
                observed=observed,
                factor=rules.observed_target_factor,
                value=observed_value,
            )
        )
    alert_value = _alert_target(inp, rules, explain)
    if observed_value is None and alert_value is None:
        explain.append(say("sizing.no_target", hint=say("sizing.ss_hint")))
        return Target(None, "none", inputs, explain)
    if alert_value is not None and (observed_value is None or alert_value > observed_value):
        if observed_value is not None:
            explain.append(say("sizing.alert_beats_snapshot", value=alert_value))
        explain.append(say("sizing.target_from_alert", value=alert_value))
        return Target(alert_value, "alert", inputs, explain)
    assert observed_value is not None
    explain.append(say("sizing.target_from_observed", value=observed_value))
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
            return quota_cpus, say(
                "sizing.workers_above_quota", workers=workers, quota=quota, nproc=nproc, quota_cpus=quota_cpus
            )
        return None, None
    if nproc is not None and workers > nproc:
        return nproc, say("sizing.workers_above_cpus", workers=workers, nproc=nproc)
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
    """The value to recommend, and the slots the busiest worker needs (None without a target)."""
    current = before.worker_connections
    if target.value is None:
        key = "sizing.wc_stays_cache_manager" if before.cache_manager_alert else "sizing.wc_stays_no_target"
        explain.append(say(key, current=current))
        return current, None
    share = rules.busiest_share(workers)
    busiest = math.ceil(target.value * share)
    if workers is not None and workers > 1:
        explain.append(say("sizing.busiest_worker", target=target.value, share=share, busiest=busiest, workers=workers))
    elif workers is None:
        explain.append(say("sizing.workers_unknown", busiest=busiest))
    else:
        explain.append(say("sizing.one_worker", busiest=busiest))
    per = before.slots_per_proxied_request if proxied else before.slots_per_static_request
    keepalive = before.reserved_keepalive if proxied else 0
    reserved = before.listeners + CHANNEL_SLOTS + keepalive
    needed = math.ceil(busiest * per * rules.headroom_factor) + reserved
    explain.append(
        say(
            "sizing.slots_needed",
            busiest=busiest,
            kind="proxied" if proxied else "static",
            assumed=inp.proxied is None,
            per=per,
            headroom=rules.headroom_factor,
            listeners=before.listeners,
            channel=CHANNEL_SLOTS,
            keepalive=keepalive,
            needed=needed,
        )
    )
    if needed <= current:
        explain.append(say("sizing.wc_covers", current=current, needed=needed))
        return current, needed
    rounded = max(rules.round_up(needed), rules.min_raised_worker_connections)
    explain.append(say("sizing.wc_raise", current=current, rounded=rounded, needed=needed))
    return rounded, needed


def recommend(inp: SizingInput, rules: SizingRules = DEFAULT_RULES) -> Recommendation:
    """The values that carry the target: worker_connections, worker_rlimit_nofile, master limit, workers."""
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
            explain.append(say("sizing.workers_below_cpus", workers=workers_now, cpus=cpus))

    proxied = inp.proxied is not False
    wc, needed = _size_worker_connections(inp, rules, before, target, workers, proxied, explain)
    if before.cache_manager_alert:
        explain.append(say("sizing.cache_manager_module", cache=CACHE_MANAGER_CONNECTIONS))

    # --- descriptors (NGINX-FACTS 3.3, 3.4) ---
    current_rl = positive(inp.worker_rlimit_nofile)
    advised = max(math.ceil(wc * rules.rlimit_advice_factor), wc + rules.fd_overhead_per_worker)
    want = rules.round_up(advised)
    explain.append(say("sizing.rlimit_advice", wc=wc, factor=rules.rlimit_advice_factor, advised=advised, want=want))
    rl = want
    if current_rl is not None and current_rl > want:
        rl = current_rl
        explain.append(say("sizing.rlimit_keep", current=current_rl))
    nr_open = positive(inp.fs_nr_open)
    if nr_open is not None and rl > nr_open:
        explain.append(say("sizing.rlimit_capped", nr_open=nr_open))
        rl = nr_open
        if wc > nr_open:
            explain.append(say("sizing.wc_above_nr_open", wc=wc, nr_open=nr_open))

    applies, why = rlimit_applies(inp, rl)
    inherited = inherited_limit(inp)
    without_restart: int | None = None
    limit_nofile: int | None = None
    needs_restart: bool | None
    if applies is True:
        needs_restart = False
        explain.append(say("sizing.rlimit_on_reload", rl=rl, why=why))
    elif applies is False:
        needs_restart = True
        limit_nofile = rl
        without_restart = inherited.hard
        explain.append(say("sizing.rlimit_not_yet", rl=rl, why=why))
        explain.append(say("sizing.raise_master_limit", rl=rl))
        if without_restart is not None:
            explain.append(
                say("sizing.until_restart", without_restart=without_restart, below=without_restart < wc, wc=wc)
            )
    else:
        needs_restart = None
        if inp.master_is_root is False or inherited.hard is not None:
            limit_nofile = rl
            explain.append(say("sizing.rlimit_may_fail", rl=rl, why=why))
            without_restart = inherited.hard
        else:
            explain.append(say("sizing.rlimit_if_root", rl=rl, why=why))
    if inp.user_directive and inp.master_is_root is not None:
        explain.append(say("sizing.user_directive", user=inp.user_directive, root=inp.master_is_root))

    file_max = positive(inp.fs_file_max)
    if file_max is not None and workers is not None and workers * rl > file_max:
        explain.append(say("sizing.above_file_max", workers=workers, rl=rl, total=workers * rl, file_max=file_max))

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
    explain.append(
        say(
            "sizing.after_change",
            raised=limit_nofile is not None,
            per_worker=after.proxied_requests_per_worker,
            total=after.max_proxied_requests,
            workers=after.workers or 0,
        )
    )

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
