"""Workers hit the descriptor limit before the slot limit.

Fires when the per-worker open-file limit (read from a worker or predicted) is below
worker_connections: raising worker_connections then changes nothing, the fix is
worker_rlimit_nofile (or the master's limit).
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("emfile",)


def check(c: CheckContext) -> Facts | None:
    """The limit, the slots and a sample EMFILE line when the limit is the lower ceiling."""
    if c.rec is None:
        return None
    cap = c.rec.capacity_before
    fd = cap.fd_limit_per_worker
    if fd is None or fd >= cap.worker_connections:
        return None
    return {
        "fd": fd,
        "worker_connections": cap.worker_connections,
        "fd_source": cap.fd_limit_source,
        "samples": c.samples("emfile"),
    }
