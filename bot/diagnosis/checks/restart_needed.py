"""The fix raises the master's limit: a reload keeps the old master, so restart."""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS: tuple[str, ...] = ()


def check(c: CheckContext) -> Facts | None:
    """The master limit to set and why a reload cannot apply it."""
    if c.rec is None or not c.rec.needs_restart:
        return None
    return {"limit": c.rec.recommended_limit_nofile, "reason": c.rec.can_raise_reason}
