"""Whole-process timing for the benchmarks: wall seconds and peak RSS of one child, and
paired runs (A, B, A, B, ...) whose ratios are taken pair by pair.

Pairing keeps a ratio meaningful on a shared, noisy machine: both commands see the same
load at nearly the same moment. Plain ``subprocess`` + ``os.wait4`` (the peak RSS is the
kernel's figure for the child and the children it reaped), no tools outside the repo.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Runs:
    """Every run's wall seconds and peak RSS (MB) of one command."""

    wall: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    stdout: bytes = b""

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb)


def run(
    cmd: Sequence[str], env: Mapping[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MB (the child and the processes it reaped), and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return took, usage.ru_maxrss / 1024.0, out


def paired(
    a: Sequence[str],
    b: Sequence[str],
    runs: int,
    env: Mapping[str, str] | None = None,
    ok_a: tuple[int, ...] = (0,),
    ok_b: tuple[int, ...] = (0,),
) -> tuple[Runs, Runs, list[float]]:
    """``runs`` alternating runs of ``a`` and ``b`` (after one warm-up each); the ratios a/b per pair."""
    run(a, env, ok_a)
    run(b, env, ok_b)
    ra, rb, ratios = Runs(), Runs(), []
    for _ in range(runs):
        ta, ma, ra.stdout = run(a, env, ok_a)
        tb, mb, rb.stdout = run(b, env, ok_b)
        ra.wall.append(ta)
        ra.rss_mb.append(ma)
        rb.wall.append(tb)
        rb.rss_mb.append(mb)
        ratios.append(ta / tb)
    return ra, rb, ratios


def bench_env() -> dict[str, str]:
    """The environment the commands run in: as a user has it (bytecode caches written)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
