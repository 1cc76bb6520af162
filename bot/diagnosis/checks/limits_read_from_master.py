"""A pasted limits table belongs to the master, not a worker.

Workers apply worker_rlimit_nofile themselves; the master's table (pid file, ``pgrep -o``,
MainPID) never shows it, so conclusions drawn from it are wrong.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS: tuple[str, ...] = ()


def check(c: CheckContext) -> Facts | None:
    """Why the first master's table is the master's, and its open-file row."""
    for paste in c.ev.limits:
        role, why = c.ev.limits_role(paste)
        if role == "master":
            return {
                "why": why,
                "soft": paste.limits.nofile_soft,
                "hard": paste.limits.nofile_hard,
                "command": paste.command,
            }
    return None
