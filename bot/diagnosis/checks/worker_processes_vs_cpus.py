"""worker_processes that does not match the CPUs nginx can use."""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS: tuple[str, ...] = ()


def check(c: CheckContext) -> Facts | None:
    """Sizing's reason to change worker_processes, with the counts behind it."""
    rec = c.rec
    if rec is None or rec.recommended_worker_processes is None or not rec.worker_processes_reason:
        return None
    if rec.recommended_worker_processes == rec.workers_current:
        return None
    return {
        "reason": rec.worker_processes_reason,
        "workers": rec.workers_current,
        "nproc": c.ev.nproc,
        "quota": c.ev.cpu_quota,
    }
