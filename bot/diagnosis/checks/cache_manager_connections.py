"""512 in the alert while workers have another value: the cache manager or loader.

Those processes always run with 512 connections (hard-coded in nginx), so a module running
inside them ran out; raising worker_connections cannot change it.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.sizing.rules import CACHE_MANAGER_CONNECTIONS

READS = ("alert",)


def check(c: CheckContext) -> Facts | None:
    """The configured value and a sample alert when sizing saw the cache manager's 512."""
    if c.rec is None or not c.rec.cache_manager_alert:
        return None
    return {
        "cache": CACHE_MANAGER_CONNECTIONS,
        "current": c.rec.worker_connections_current,
        "samples": c.samples("alert"),
    }
