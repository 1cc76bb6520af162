"""``nginx-triage store purge``: delete what the bot stored past its retention, now.

The same purge ``serve`` runs every hour (``bot.store.retention``), for a deployer who
shortened ``NGINX_TRIAGE_RETENTION_DAYS`` or must remove old data on request. It works on
the database ``DATABASE_URL`` names (the default SQLite file otherwise), like ``serve``.
"""

from __future__ import annotations

import sys

from bot.store import Store, StoreError, retention_days


def purge_command(days: int | None) -> int:
    """Purge rows older than ``days`` (default: the configured retention); the exit code."""
    try:
        keep = days if days is not None else retention_days()
    except ValueError as exc:
        sys.stderr.write(f"nginx-triage: {exc}\n")
        return 2
    try:
        with Store() as store:
            purged = store.purge(keep)
            where = store.url
    except StoreError as exc:
        sys.stderr.write(f"nginx-triage: {exc}\n")
        return 1
    sys.stdout.write(
        f"purged {purged.total} row(s) older than {keep} day(s) from {where}: "
        f"{purged.conversations} conversation(s), {purged.feedback} feedback click(s), "
        f"{purged.unmatched_lines} unmatched line shape(s), {purged.processed_events} event id(s)\n"
    )
    return 0
