"""Each log line to a KB entry and its facts: regex fast path, fuzzy fallback for mangled lines."""

from bot.matching.matcher import Match, Matcher

__all__ = ["Match", "Matcher"]
