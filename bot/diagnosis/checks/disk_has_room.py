"""``No space left on device (28)`` in the log, yet ``df -h; df -i`` shows room where it happened.

Then the disk is not full now: the space was freed since (a cleanup, a log rotation, a temp
file deleted when the request ended), or the limit is not the filesystem's: a quota
(``122: Disk quota exceeded``), a container's ephemeral-storage limit, or an ENOSPC that is
no disk at all (epoll watches, System V IPC). The paths come from the lines themselves.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("space",)


def check(c: CheckContext) -> Facts | None:
    """Every mount the failed writes went to, when none of them is out of blocks or inodes."""
    usage = c.ev.disk
    if usage is None:
        return None
    mounts: dict[str, dict[str, object]] = {}
    for group in c.groups("space"):
        tally = group.tallies.get("path")
        paths = [p for p, _n in tally.top(5)] if tally is not None else [group.summary_facts().get("path") or ""]
        for path in paths:
            fs = usage.mount_of(path) if path.startswith("/") else None
            if fs is None:
                continue
            if fs.blocks_full or fs.inodes_full:
                return None  # filesystem-full says it
            mounts.setdefault(
                fs.mount, {"mount": fs.mount, "use": fs.use_percent, "iuse": fs.iuse_percent, "path": path}
            )
    if not mounts:
        return None
    return {"mounts": list(mounts.values()), "lines": c.count("space"), "samples": c.samples("space")}
