"""Sizing: pure arithmetic from evidence to capacity and directive values, no I/O.

``capacity`` says what a configuration carries, ``target_concurrency`` what demand to
size for, ``recommend`` the values that carry it. Each result holds its inputs and the
arithmetic in words, because users are shown why, not only what.
"""

from bot.sizing.capacity import Capacity, SizingInput, capacity, worker_fd_limit
from bot.sizing.recommend import (
    Recommendation,
    Target,
    recommend,
    recommend_worker_processes,
    target_concurrency,
    usable_cpus,
)
from bot.sizing.rules import DEFAULT_RULES, SizingRules, round_up_slots

__all__ = [
    "DEFAULT_RULES",
    "Capacity",
    "Recommendation",
    "SizingInput",
    "SizingRules",
    "Target",
    "capacity",
    "recommend",
    "recommend_worker_processes",
    "round_up_slots",
    "target_concurrency",
    "usable_cpus",
    "worker_fd_limit",
]
