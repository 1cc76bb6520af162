"""Old workers draining after a reload keep their old limits and slots."""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS: tuple[str, ...] = ()


def check(c: CheckContext) -> Facts | None:
    """How many workers are shutting down, and up to three of their ps rows."""
    old = c.ev.old_workers
    if not old:
        return None
    return {"count": len(old), "rows": [f"{p.pid} {p.cmd}" for p in old[:3]]}
