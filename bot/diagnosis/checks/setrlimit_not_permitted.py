"""The worker tried to raise its open-file limit and the kernel said no (EPERM).

A non-root master (or one without CAP_SYS_RESOURCE) cannot give its workers more than its
own hard limit; only raising the master's limit and restarting helps.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("refused",)


def check(c: CheckContext) -> Facts | None:
    """The value the workers wanted, when a refused setrlimit() was logged."""
    groups = c.groups("refused")
    if not groups:
        return None
    facts = groups[0].facts
    return {"wanted": facts.get("worker_rlimit_nofile") or facts.get("value"), "samples": c.samples("refused")}
