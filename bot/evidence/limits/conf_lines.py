"""``nofile`` lines of ``/etc/security/limits.conf`` anywhere in a paste.

Its own module because every paste is scanned for them (systemd services ignore those
limits, a classic trap): the scan must not import the limits parsers and their models,
which only a pasted limits table needs.
"""

from __future__ import annotations

import re

from bot.lazy_re import lazy_compile

_LIMITS_CONF = lazy_compile(r"^[ \t]*+[*@\w-]++[ \t]+(?:soft|hard|-)[ \t]+nofile[ \t]+[0-9]+", re.MULTILINE)
r"""Within one line only: ``\s*`` at a line start once ran across every blank line after it."""


def limits_conf_lines(text: str) -> list[str]:
    """``nofile`` lines of ``/etc/security/limits.conf`` anywhere in a paste (systemd services ignore them)."""
    return [line.strip() for line in _LIMITS_CONF.findall(text)]
