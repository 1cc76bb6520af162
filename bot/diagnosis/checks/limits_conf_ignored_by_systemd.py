"""limits.conf (pam_limits) applies to login sessions, not to systemd services.

Fires when limits.conf lines were pasted, or the shell's ulimit is above the service's
limit; the YAML restricts it to environments with the ``limits-conf-ignored`` trait.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected

READS: tuple[str, ...] = ()


def _shell_higher_than_service(ev: Collected) -> bool:
    shell = ev.ulimit.soft if ev.ulimit else None
    worker = ev.worker_limits
    service = ev.master_limits or worker
    return bool(shell and service and service.nofile_soft and shell > service.nofile_soft)


def check(c: CheckContext) -> Facts | None:
    """The limits.conf lines and the shell's limit that do not reach the service."""
    ev = c.ev
    if not ev.limits_conf_lines and not _shell_higher_than_service(ev):
        return None
    return {
        "limits_conf_lines": list(ev.limits_conf_lines[:3]),
        "shell": ev.ulimit.soft if ev.ulimit and ev.ulimit.soft else None,
    }
