"""Matched lines grouped by KB entry: counts, time span, workers, top upstreams and clients.

Between matching and sizing in the flow. ``group_lines`` is the reference path;
``group_stream_native`` does the same with the per-line loop in C (``bot.native``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from bot.grouping.fastgroup import group_stream_native
    from bot.grouping.groups import MAX_DISTINCT, TALLIED, BoundedCounter, Grouper, MatchGroup, group_lines

# Names load on first use (PEP 562), so that importing one part of this package does not
# import all of it: start-up time is part of the CLI (issue 11).
_LAZY = {
    "group_stream_native": "bot.grouping.fastgroup",
    "MAX_DISTINCT": "bot.grouping.groups",
    "TALLIED": "bot.grouping.groups",
    "BoundedCounter": "bot.grouping.groups",
    "Grouper": "bot.grouping.groups",
    "MatchGroup": "bot.grouping.groups",
    "group_lines": "bot.grouping.groups",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = ["MAX_DISTINCT", "TALLIED", "BoundedCounter", "Grouper", "MatchGroup", "group_lines", "group_stream_native"]
