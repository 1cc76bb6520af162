"""``df -h; df -i``: size, use and inodes of every mount, both tables merged by mount point.

``df`` wraps a long device name onto its own line (``/dev/mapper/vg-root`` then the numbers
on the next one); the mount point is the rest of the row after ``Use%`` and may hold spaces.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines, refuse_command_error
from bot.evidence.sections.prompts import prompt_command
from bot.evidence.system.model import DiskUsage, Filesystem
from bot.evidence.system.shapes import DF_BLOCKS_HEADER as BLOCKS_HEADER
from bot.evidence.system.shapes import DF_INODES_HEADER as INODES_HEADER
from bot.evidence.system.shapes import DF_ROW as ROW
from bot.knowledge.texts import say

DF_COMMAND = "df -h; df -i"
MAX_MOUNTS = 4096
"""A host with more mounts than this is read up to here (containers can list hundreds)."""


def _percent(token: str) -> int | None:
    return int(token[:-1]) if token.endswith("%") else None


def parse_df(text: str) -> DiskUsage:
    """Every mount of ``df -h`` / ``df`` / ``df -i`` output; rows of the two tables join by mount point."""
    lines = output_lines(text)
    by_mount: dict[tuple[str, str], Filesystem] = {}
    table: str | None = None
    pending: str | None = None  # a device name df wrapped onto its own line
    for line in lines:
        cmd = prompt_command(line)
        s = line.strip()
        if cmd is not None:
            table = "inodes" if re.search(r"\bdf\b[^;|]{0,80}\s-[a-zA-Z]*i", cmd) else "blocks"
            continue
        if BLOCKS_HEADER.match(s):
            table, pending = "blocks", None
            continue
        if INODES_HEADER.match(s):
            table, pending = "inodes", None
            continue
        m = ROW.match(s)
        if m is None:
            pending = s if table is not None and " " not in s and len(s) <= 4096 else None
            continue
        source = m.group("source") or pending
        pending = None
        if source is None or table is None or len(by_mount) >= MAX_MOUNTS:
            continue
        key = (source, m.group("mount").rstrip())
        fs = by_mount.get(key, Filesystem(source=key[0], mount=key[1]))
        if table == "inodes":
            fs = replace(fs, inodes=m.group("a"), iused=m.group("b"), ifree=m.group("c"))
            fs = replace(fs, iuse_percent=_percent(m.group("pct")))
        else:
            fs = replace(fs, size=m.group("a"), used=m.group("b"), avail=m.group("c"))
            fs = replace(fs, use_percent=_percent(m.group("pct")))
        by_mount[key] = fs
    if by_mount:
        return DiskUsage(tuple(by_mount.values()))
    refuse_command_error(lines, DF_COMMAND)
    raise EvidenceError(say("host.no_df", command=DF_COMMAND))
