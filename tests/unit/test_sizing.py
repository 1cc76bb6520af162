"""Sizing math: the worked examples measured on a real nginx (NGINX-FACTS section 8), the
limit rules from the source (sections 3.1-3.5), and properties that must hold for any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sizing import (
    SizingInput,
    capacity,
    recommend,
    round_up_slots,
    target_concurrency,
)

# --- capacity: measured worked examples ---------------------------------------------------


@pytest.mark.parametrize(("wc", "proxied"), [(8, 3), (9, 3), (10, 4), (16, 7), (32, 15)])
def test_proxied_per_worker_one_listener(wc: int, proxied: int) -> None:
    cap = capacity(SizingInput(worker_processes=1, worker_connections=wc, listeners=1))
    assert cap.proxied_requests_per_worker == proxied
    assert cap.clients_per_worker == wc - 2
    assert cap.max_proxied_requests == proxied
    assert any(f"floor({wc - 2} / 2) = {proxied}" in line for line in cap.explain)


@pytest.mark.parametrize(("wc", "proxied"), [(8, 2), (16, 6)])
def test_proxied_per_worker_two_listeners(wc: int, proxied: int) -> None:
    cap = capacity(SizingInput(worker_processes=1, worker_connections=wc, listeners=2))
    assert cap.proxied_requests_per_worker == proxied
    assert cap.slots_per_worker == wc - 3


def test_totals_multiply_by_workers() -> None:
    cap = capacity(SizingInput(worker_processes=4, worker_connections=1024, listeners=2))
    assert cap.slots_per_worker == 1021
    assert cap.proxied_requests_per_worker == 510
    assert cap.max_connections == 4 * 1021
    assert cap.max_proxied_requests == 4 * 510
    assert cap.to_dict()["workers"] == 4


def test_default_512_when_unset() -> None:
    cap = capacity(SizingInput(worker_processes=1, listeners=1))
    assert cap.worker_connections == 512
    assert cap.worker_connections_source == "compiled default"
    assert cap.proxied_requests_per_worker == 255
    assert any("compiled default 512" in line for line in cap.explain)


def test_unset_uses_alert_value_when_no_config() -> None:
    """No config pasted but the alert names N: N is the running value, not 512."""
    cap = capacity(SizingInput(observed_alert_worker_connections=768, listeners=1))
    assert cap.worker_connections == 768
    assert cap.worker_connections_source == "alert"


def test_unknown_workers_gives_no_totals() -> None:
    cap = capacity(SizingInput(worker_connections=1024, listeners=1))
    assert cap.workers is None
    assert cap.max_connections is None and cap.max_proxied_requests is None
    assert cap.proxied_requests_per_worker == 511


def test_listeners_unknown_assumed_one_and_said() -> None:
    cap = capacity(SizingInput(worker_processes=1, worker_connections=16))
    assert cap.listeners == 1
    assert any("assuming 1" in line for line in cap.explain)


def test_keepalive_reserves_slots() -> None:
    cap = capacity(SizingInput(worker_processes=1, worker_connections=1024, listeners=1, upstream_keepalive=32))
    assert cap.proxied_requests_per_worker == (1022 - 32) // 2


def test_http3_streams_take_slots_http2_do_not() -> None:
    h1 = capacity(SizingInput(worker_processes=1, worker_connections=1024, listeners=1))
    h2 = capacity(SizingInput(worker_processes=1, worker_connections=1024, listeners=1, http2=True))
    h3 = capacity(SizingInput(worker_processes=1, worker_connections=1024, listeners=1, http3=True))
    assert h2.proxied_requests_per_worker == h1.proxied_requests_per_worker
    assert any("HTTP/2" in line for line in h2.explain)
    assert h3.proxied_requests_per_worker == 1022 // 3
    assert h3.slots_per_proxied_request == 3


def test_fds_bind_first() -> None:
    """worker_rlimit_nofile 32 with worker_connections 1024 (measured): fds run out first."""
    cap = capacity(
        SizingInput(
            worker_processes=1, worker_connections=1024, listeners=1, worker_rlimit_nofile=32, master_is_root=True
        )
    )
    assert cap.fd_limit_per_worker == 32
    assert cap.binds_first == "open_files"
    assert cap.proxied_requests_per_worker < 16


def test_slots_bind_first_and_unknown() -> None:
    cap = capacity(
        SizingInput(
            worker_processes=1, worker_connections=1024, listeners=1, worker_nofile_soft=65536, worker_nofile_hard=65536
        )
    )
    assert cap.binds_first == "worker_connections"
    assert cap.fd_limit_source.startswith("worker")
    unknown = capacity(SizingInput(worker_processes=1, worker_connections=1024, listeners=1))
    assert unknown.binds_first == "unknown" and unknown.fd_limit_per_worker is None


def test_rlimit_above_non_root_hard_limit_does_not_apply() -> None:
    cap = capacity(
        SizingInput(
            worker_connections=4096,
            worker_rlimit_nofile=8192,
            master_is_root=False,
            master_nofile_soft=1024,
            master_nofile_hard=4096,
        )
    )
    assert cap.fd_limit_per_worker == 1024
    assert "inherited" in cap.fd_limit_source


def test_rlimit_above_nr_open_does_not_apply_even_for_root() -> None:
    cap = capacity(
        SizingInput(
            worker_connections=4096,
            worker_rlimit_nofile=2_000_000,
            master_is_root=True,
            master_nofile_soft=1024,
            master_nofile_hard=524288,
            fs_nr_open=1_048_576,
        )
    )
    assert cap.fd_limit_per_worker == 1024


def test_cache_manager_512() -> None:
    """`512 worker_connections are not enough` with 10240 configured: the cache manager."""
    inp = SizingInput(worker_processes=2, worker_connections=10240, listeners=1, observed_alert_worker_connections=512)
    cap = capacity(inp)
    assert cap.cache_manager_alert
    assert cap.worker_connections == 10240
    t = target_concurrency(inp)
    assert t.value is None and t.source == "none"
    assert any("cache manager" in line for line in t.explain)
    rec = recommend(inp)
    assert rec.cache_manager_alert
    assert rec.recommended_worker_connections == 10240
    assert any("cache manager" in line for line in rec.explain)


# --- target concurrency ---------------------------------------------------------------------


def test_target_given_wins() -> None:
    t = target_concurrency(SizingInput(target_concurrency=5000, observed_concurrency=100))
    assert (t.value, t.source) == (5000, "given")


def test_target_from_observed_with_headroom() -> None:
    t = target_concurrency(SizingInput(observed_concurrency=1000))
    assert t.source == "observed"
    assert t.value == 1500  # a snapshot is not the peak: 1000 x 1.5
    assert any("1000 x 1.5 = 1500" in line for line in t.explain)


def test_target_from_alert() -> None:
    t = target_concurrency(
        SizingInput(
            worker_processes=1,
            worker_connections=1024,
            listeners=1,
            observed_alert_worker_connections=1024,
            proxied=True,
        )
    )
    # one worker hit 511 proxied requests; aim for twice that
    assert t.source == "alert"
    assert t.value == 2 * 511
    assert any("511" in line for line in t.explain)


def test_alert_beats_a_calmer_snapshot() -> None:
    t = target_concurrency(
        SizingInput(
            worker_processes=1,
            worker_connections=1024,
            listeners=1,
            observed_alert_worker_connections=1024,
            observed_concurrency=50,
        )
    )
    assert (t.value, t.source) == (1022, "alert")
    assert any("snapshot" in line for line in t.explain)


def test_setrlimit_failure_seen_on_worker_is_explained() -> None:
    cap = capacity(
        SizingInput(
            worker_connections=4096, worker_rlimit_nofile=8192, worker_nofile_soft=1024, worker_nofile_hard=4096
        )
    )
    assert cap.fd_limit_per_worker == 1024
    assert any("setrlimit() failed" in line for line in cap.explain)


def test_target_none_says_what_to_give() -> None:
    t = target_concurrency(SizingInput())
    assert t.value is None and t.source == "none"
    assert any("--target-concurrency" in line for line in t.explain)


# --- recommendations -------------------------------------------------------------------------


def test_round_up_slots() -> None:
    assert [round_up_slots(n) for n in (1, 3, 5, 100, 512, 513, 1024, 1025, 3000, 4096)] == [
        1,
        4,
        8,
        128,
        512,
        1024,
        1024,
        2048,
        3072,
        4096,
    ]


def test_recommend_single_worker_from_target() -> None:
    rec = recommend(
        SizingInput(
            worker_processes=1,
            worker_connections=1024,
            listeners=1,
            target_concurrency=2000,
            proxied=True,
            master_is_root=True,
        )
    )
    # busiest (only) worker: 2000 requests x 2 slots x 1.25 + 1 listener + 1 channel = 5002 -> 5120
    assert rec.needed_slots_per_worker == 5002
    assert rec.recommended_worker_connections == 5120
    assert rec.recommended_worker_rlimit_nofile == 10240
    assert rec.needs_restart is False and rec.can_raise_in_worker is True
    assert rec.capacity_after.proxied_requests_per_worker >= 2000
    assert rec.template_vars()["recommended_worker_connections"] == 5120


def test_recommend_never_lowers() -> None:
    rec = recommend(SizingInput(worker_processes=1, worker_connections=16384, listeners=1, target_concurrency=10))
    assert rec.recommended_worker_connections == 16384
    assert "recommended_worker_connections" not in rec.template_vars()


def test_recommend_two_workers_busiest_share() -> None:
    rec = recommend(SizingInput(worker_processes=2, worker_connections=512, listeners=1, target_concurrency=1000))
    assert rec.busiest_share == pytest.approx(0.8)
    # 1000 x 0.8 = 800 on the busiest worker; x2 slots x1.25 = 2000 + 2 = 2002 -> 2048
    assert rec.recommended_worker_connections == 2048


def test_non_root_master_capping() -> None:
    """A non-root master: workers cannot go above its hard limit; raise LimitNOFILE, restart."""
    rec = recommend(
        SizingInput(
            worker_processes=2,
            worker_connections=4096,
            listeners=1,
            target_concurrency=2000,
            master_is_root=False,
            master_nofile_soft=1024,
            master_nofile_hard=4096,
            user_directive="www-data",
            fs_nr_open=1_048_576,
        )
    )
    assert rec.recommended_worker_connections == 4096
    assert rec.recommended_worker_rlimit_nofile == 8192
    assert rec.worker_rlimit_nofile_without_restart == 4096
    assert rec.recommended_limit_nofile == 8192
    assert rec.needs_restart is True
    assert rec.can_raise_in_worker is False
    assert "not root" in rec.can_raise_reason
    text = "\n".join(rec.explain)
    assert "LimitNOFILE" in text and "restart" in text


def test_non_root_within_hard_limit_reload_is_enough() -> None:
    rec = recommend(
        SizingInput(
            worker_processes=1,
            worker_connections=1024,
            listeners=1,
            master_is_root=False,
            master_nofile_soft=1024,
            master_nofile_hard=524288,
        )
    )
    assert rec.recommended_worker_rlimit_nofile == 2048
    assert rec.needs_restart is False
    assert rec.can_raise_in_worker is True
    assert rec.recommended_limit_nofile is None


def test_systemd_limit_stands_in_for_master_hard_limit() -> None:
    rec = recommend(
        SizingInput(
            worker_processes=1, worker_connections=8192, listeners=1, master_is_root=False, systemd_limit_nofile=4096
        )
    )
    assert rec.needs_restart is True
    assert rec.recommended_limit_nofile == 16384


def test_unknown_root_above_hard_limit_is_unknown() -> None:
    rec = recommend(SizingInput(worker_processes=1, worker_connections=8192, listeners=1, master_nofile_hard=4096))
    assert rec.can_raise_in_worker is None
    assert rec.needs_restart is None
    assert rec.recommended_limit_nofile == 16384


def test_nr_open_capping() -> None:
    rec = recommend(
        SizingInput(
            worker_processes=1,
            worker_connections=1024,
            listeners=1,
            target_concurrency=300_000,
            master_is_root=True,
            fs_nr_open=524288,
        )
    )
    assert rec.recommended_worker_connections >= 750_002
    assert rec.recommended_worker_rlimit_nofile == 524288
    assert any("fs.nr_open" in line for line in rec.explain)


def test_container_quota() -> None:
    """auto on a 64-CPU host in a 2-CPU container = 64 workers: recommend 2."""
    rec = recommend(SizingInput(worker_processes=64, nproc=64, cpu_quota=2.0, worker_connections=1024, listeners=1))
    assert rec.recommended_worker_processes == 2
    assert rec.worker_processes_reason is not None and "quota" in rec.worker_processes_reason
    frac = recommend(SizingInput(worker_processes=64, nproc=64, cpu_quota=1.5))
    assert frac.recommended_worker_processes == 2
    ok = recommend(SizingInput(worker_processes=2, nproc=64, cpu_quota=2.0))
    assert ok.recommended_worker_processes is None


def test_workers_above_nproc() -> None:
    rec = recommend(SizingInput(worker_processes=16, nproc=4))
    assert rec.recommended_worker_processes == 4


def test_alert_drives_raise_and_reload_is_enough() -> None:
    """The measured case: 8 slots, alerts; raising with worker_rlimit_nofile set and a reload held."""
    rec = recommend(
        SizingInput(
            worker_processes=1,
            worker_connections=8,
            listeners=1,
            worker_rlimit_nofile=512,
            observed_alert_worker_connections=8,
            master_is_root=True,
        )
    )
    assert rec.target.source == "alert"
    assert rec.recommended_worker_connections > 8
    assert rec.needs_restart is False
    assert rec.recommended_worker_rlimit_nofile is not None
    assert rec.recommended_worker_rlimit_nofile >= rec.recommended_worker_connections


def test_file_max_warning() -> None:
    rec = recommend(
        SizingInput(worker_processes=8, worker_connections=65536, listeners=1, master_is_root=True, fs_file_max=100_000)
    )
    assert any("fs.file-max" in line for line in rec.explain)


def test_every_result_carries_inputs() -> None:
    rec = recommend(SizingInput(worker_processes=2, worker_connections=1024, target_concurrency=100))
    assert rec.inputs["worker_connections"] == 1024
    assert rec.capacity_before.inputs["worker_processes"] == 2
    assert rec.target.inputs["target_concurrency"] == 100


# --- properties ------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _opt(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), strategy)


POS = st.integers(min_value=1, max_value=2_000_000)
SMALL = st.integers(min_value=1, max_value=256)
BOOL = st.one_of(st.none(), st.booleans())

INPUTS = st.builds(
    SizingInput,
    worker_processes=_opt(SMALL),
    nproc=_opt(SMALL),
    cpu_quota=st.one_of(st.none(), st.floats(min_value=0.01, max_value=256)),
    worker_connections=_opt(POS),
    worker_rlimit_nofile=_opt(POS),
    listeners=_opt(st.integers(min_value=0, max_value=64)),
    upstream_keepalive=_opt(st.integers(min_value=0, max_value=4096)),
    http2=st.booleans(),
    http3=st.booleans(),
    worker_nofile_soft=_opt(POS),
    worker_nofile_hard=_opt(POS),
    master_nofile_soft=_opt(POS),
    master_nofile_hard=_opt(POS),
    master_is_root=BOOL,
    user_directive=st.one_of(st.none(), st.just("nginx")),
    systemd_limit_nofile=_opt(POS),
    fs_nr_open=_opt(POS),
    fs_file_max=_opt(POS),
    observed_alert_worker_connections=_opt(POS),
    observed_concurrency=_opt(POS),
    target_concurrency=_opt(POS),
    proxied=BOOL,
    failed_requests_hint=_opt(POS),
)


@SETTINGS
@given(INPUTS)
def test_never_raises_and_explains(inp: SizingInput) -> None:
    cap = capacity(inp)
    t = target_concurrency(inp)
    rec = recommend(inp)
    assert cap.explain and t.explain and rec.explain
    assert cap.proxied_requests_per_worker >= 0 and cap.clients_per_worker >= 0
    assert rec.to_dict()["recommended_worker_connections"] == rec.recommended_worker_connections


@SETTINGS
@given(INPUTS)
def test_recommended_worker_connections_covers_target_and_never_lowers(inp: SizingInput) -> None:
    rec = recommend(inp)
    assert rec.recommended_worker_connections >= rec.worker_connections_current
    if inp.worker_connections is not None:
        assert rec.recommended_worker_connections >= inp.worker_connections
    if rec.target.value is not None and not rec.cache_manager_alert:
        busiest = math.ceil(rec.target.value * rec.busiest_share)
        after = rec.capacity_after
        per_request = after.slots_per_proxied_request if rec.sized_as_proxied else after.slots_per_static_request
        reserved = after.listeners + 1 + (after.reserved_keepalive if rec.sized_as_proxied else 0)
        assert rec.recommended_worker_connections >= busiest * per_request + reserved
        slot_capacity = after.slot_proxied_per_worker if rec.sized_as_proxied else after.slot_clients_per_worker
        assert slot_capacity >= busiest


@SETTINGS
@given(INPUTS)
def test_recommended_rlimit_bounds(inp: SizingInput) -> None:
    rec = recommend(inp)
    rl = rec.recommended_worker_rlimit_nofile
    assert rl is not None
    if inp.fs_nr_open is not None:
        assert rl <= inp.fs_nr_open
        if rec.recommended_limit_nofile is not None:
            assert rec.recommended_limit_nofile <= inp.fs_nr_open
        if rec.recommended_worker_connections <= inp.fs_nr_open:
            assert rl >= rec.recommended_worker_connections
    else:
        assert rl >= rec.recommended_worker_connections
    if rec.worker_rlimit_nofile_without_restart is not None:
        assert rec.worker_rlimit_nofile_without_restart <= rl
    if rec.recommended_limit_nofile is not None:
        assert rec.needs_restart is not False


@SETTINGS
@given(INPUTS, st.integers(min_value=1, max_value=100_000), st.integers(min_value=1, max_value=100_000))
def test_capacity_monotonic_in_worker_connections(inp: SizingInput, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    c_lo = capacity(_with(inp, worker_connections=lo))
    c_hi = capacity(_with(inp, worker_connections=hi))
    assert c_lo.slots_per_worker <= c_hi.slots_per_worker
    assert c_lo.clients_per_worker <= c_hi.clients_per_worker
    assert c_lo.proxied_requests_per_worker <= c_hi.proxied_requests_per_worker
    if c_lo.max_proxied_requests is not None and c_hi.max_proxied_requests is not None:
        assert c_lo.max_proxied_requests <= c_hi.max_proxied_requests
        assert c_lo.max_connections is not None and c_hi.max_connections is not None
        assert c_lo.max_connections <= c_hi.max_connections


@SETTINGS
@given(INPUTS, st.integers(min_value=1, max_value=256), st.integers(min_value=1, max_value=256))
def test_capacity_monotonic_in_worker_processes(inp: SizingInput, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    c_lo = capacity(_with(inp, worker_processes=lo))
    c_hi = capacity(_with(inp, worker_processes=hi))
    assert c_lo.max_connections is not None and c_hi.max_connections is not None
    assert c_lo.max_proxied_requests is not None and c_hi.max_proxied_requests is not None
    assert c_lo.max_connections <= c_hi.max_connections
    assert c_lo.max_proxied_requests <= c_hi.max_proxied_requests


@SETTINGS
@given(st.integers(min_value=1, max_value=10_000_000))
def test_round_up_slots_properties(n: int) -> None:
    r = round_up_slots(n)
    assert r >= n
    if n > 1024:
        assert r % 1024 == 0 and r - n < 1024
    else:
        assert r & (r - 1) == 0 and r < 2 * n


def _with(inp: SizingInput, **changes: int) -> SizingInput:
    from dataclasses import replace

    return replace(inp, **changes)
