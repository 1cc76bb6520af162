"""Matched lines grouped by KB entry: counts, time span, workers, top upstreams and clients.

Between matching and sizing in the flow. ``group_lines`` is the reference path;
``group_stream_native`` does the same with the per-line loop in C (``bot.native``).
"""

from bot.grouping.fastgroup import group_stream_native
from bot.grouping.groups import MAX_DISTINCT, TALLIED, BoundedCounter, Grouper, MatchGroup, group_lines

__all__ = ["MAX_DISTINCT", "TALLIED", "BoundedCounter", "Grouper", "MatchGroup", "group_lines", "group_stream_native"]
