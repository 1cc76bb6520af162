"""Timeouts next to slot or descriptor exhaustion: slow upstreams hold slots longer."""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("timeouts", "exhausted")


def check(c: CheckContext) -> Facts | None:
    """How many timeouts, and the slowest upstreams, when they came with exhaustion."""
    timeouts = c.count("timeouts")
    if not timeouts or not c.count("exhausted"):
        return None
    tally = c.groups("timeouts")[0].tallies.get("upstream")
    slowest = tally.top(3) if tally is not None else []
    return {"timeouts": timeouts, "slowest": slowest, "samples": c.samples("timeouts")}
