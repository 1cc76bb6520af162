"""``namei -l PATH; ps -o user= -C nginx | sort -u``: every component of a path, and nginx's users.

``namei -l`` prints ``f: PATH`` then one ``MODE OWNER GROUP NAME`` line per component, a
symlink as ``NAME -> TARGET`` followed by the target's components (indented), and a missing
component as ``NAME - No such file or directory``. ``ps -o user=`` prints bare user names.
"""

from __future__ import annotations

import re

from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines
from bot.evidence.sections.prompts import prompt_command
from bot.evidence.system.model import PathComponent, PathPermissions
from bot.evidence.system.shapes import NAMEI_MISSING as MISSING
from bot.evidence.system.shapes import NAMEI_ROW as ROW
from bot.evidence.system.shapes import NAMEI_USER as USER
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

NAMEI_COMMAND = "namei -l PATH; ps -o user= -C nginx | sort -u"
MAX_COMPONENTS = 1024
"""namei stops at 40 symlinks; a paste with more lines than this is not one path."""

HEAD = lazy_compile(r"^f: (?P<path>\S.{0,4095})$")


def _row(s: str) -> PathComponent | None:
    m = ROW.match(s)
    if m is not None:
        name, _, target = m.group("name").partition(" -> ")
        return PathComponent(m.group("mode"), m.group("owner"), m.group("group"), name, target or None)
    gone = MISSING.match(s)
    if gone is not None:
        return PathComponent("", "", "", gone.group("name"), missing=True)
    return None


def parse_namei(text: str) -> PathPermissions:
    """The first path ``namei -l`` walked, its components in order, and the users ``ps`` listed."""
    lines = output_lines(text)
    path: str | None = None
    components: list[PathComponent] = []
    users: list[str] = []
    in_ps = other_path = False
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            in_ps = re.search(r"\bps\b", cmd) is not None and "namei" not in cmd
            continue
        s = line.strip()
        head = HEAD.match(s)
        if head is not None:
            other_path = path is not None  # a second path's components are not the first one's
            path = path or head.group("path")
            continue
        part = _row(s)
        if part is not None:
            if not in_ps and not other_path and len(components) < MAX_COMPONENTS:
                components.append(part)
        elif USER.match(s) and (in_ps or components) and s not in users and len(users) < 64:
            users.append(s)
    if components or users:
        return PathPermissions(path, tuple(components), tuple(users))
    raise EvidenceError(say("host.no_namei", command=NAMEI_COMMAND))
