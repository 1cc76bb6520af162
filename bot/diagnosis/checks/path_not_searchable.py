"""The user nginx's workers run as cannot search a directory on a path, or read (a socket:
write) the file at its end, from ``namei -l PATH`` and the users ``ps`` shows.

``(13: Permission denied)`` names the file; the denial is usually higher up: one directory
without the search bit (``x``) for the worker's user hides everything below it. The mode
bits that apply are the owner's when the worker is the owner, else the group's when the
group has the user's name (Debian's ``www-data:www-data``), else the others'; other group
memberships are not in the paste, so the message says when the group bits would allow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.diagnosis.checks.context import CheckContext, Facts

if TYPE_CHECKING:
    from bot.diagnosis.collect import Collected
    from bot.evidence.system.model import PathComponent, PathPermissions

READS = ("denied",)

_ALLOWED = {"search": "xst", "read": "r", "write": "w"}
"""Mode letters that grant each need (``s``/``t``: the execute bit with setid/sticky; ``S``/``T`` lack it)."""


def _worker_users(ev: Collected, perms: PathPermissions) -> list[str]:
    if perms.worker_users:
        return list(perms.worker_users)
    workers = [p.user for p in ev.processes if p.role == "worker" and p.user]
    if workers:
        return list(dict.fromkeys(workers))
    user = ev.config.user if ev.config is not None else None
    return [user.args[0]] if user is not None and user.args else []


def _bits(part: PathComponent, user: str) -> tuple[str, str]:
    """(the rwx triplet that applies to ``user``, whose it is: owner / group / other)."""
    if part.owner == user:
        return part.mode[1:4], "owner"
    if part.group == user:
        return part.mode[4:7], "group"
    return part.mode[7:10], "other"


def _blocked(perms: PathPermissions, user: str) -> dict[str, Any] | None:
    """The first component ``user`` may not pass, with what it needed."""
    current = ""
    parts = perms.components
    for i, part in enumerate(parts):
        current = "/" if part.name == "/" else current.rstrip("/") + "/" + part.name
        if part.missing or not part.mode or part.mode.startswith("l"):
            continue
        last = i == len(parts) - 1
        need = "search" if part.is_dir and not last else ("write" if part.mode.startswith("s") else "read")
        if part.is_dir and last:
            need = "search"
        triplet, whose = _bits(part, user)
        letter = triplet[{"read": 0, "write": 1, "search": 2}[need]]
        if letter in _ALLOWED[need]:
            continue
        group_bits = part.mode[4:7][{"read": 0, "write": 1, "search": 2}[need]]
        return {
            "blocked": current,
            "mode": part.mode,
            "owner": part.owner,
            "group": part.group,
            "need": need,
            "whose": whose,
            "is_dir": part.is_dir,
            "group_would_allow": whose == "other" and group_bits in _ALLOWED[need],
        }
    return None


def check(c: CheckContext) -> Facts | None:
    """The first path component a worker's user cannot pass, for the first pasted path that has one."""
    for perms in c.ev.permissions:
        for user in _worker_users(c.ev, perms):
            if user == "root":
                continue
            found = _blocked(perms, user)
            if found is not None:
                return {
                    **found,
                    "user": user,
                    "path": perms.path or found["blocked"],
                    "lines": c.count("denied"),
                    "samples": c.samples("denied"),
                }
    return None
