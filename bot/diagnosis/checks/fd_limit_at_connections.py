"""The open-file limit sits at about worker_connections, and workers ran out of descriptors.

Then both ceilings bind together: raising only worker_rlimit_nofile moves the failure to
"worker_connections are not enough" at almost the same load. Sizing reads the demand from the
limit (``bot.sizing.recommend.fd_exhausted_at``) and raises both; this says why.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("emfile",)


def check(c: CheckContext) -> Facts | None:
    """The limit, the slots and what both become, when EMFILE came at about worker_connections."""
    if c.rec is None or not c.count("emfile"):
        return None
    cap = c.rec.capacity_before
    fd, wc = cap.fd_limit_per_worker, cap.worker_connections
    if fd is None or not (wc // 2 <= fd <= wc + wc // 10):
        return None
    return {
        "fd": fd,
        "worker_connections": wc,
        "new_worker_connections": c.rec.recommended_worker_connections,
        "new_fd": c.rec.recommended_worker_rlimit_nofile,
        "samples": c.samples("emfile"),
    }
