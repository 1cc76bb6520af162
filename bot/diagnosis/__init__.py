"""Collected evidence, matches and sizing turned into a ``Diagnosis``: findings, fix plan, what is missing.

``Collected`` gathers everything the pastes hold (``collect``); ``diagnose_evidence``
builds the diagnosis from it (``build``), with the findings, the directive edits and the
commands for the environment (``findings``, ``plan``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from bot.diagnosis.build import diagnose_evidence, diagnose_lines
    from bot.diagnosis.collect import Collected, LimitsPaste
    from bot.diagnosis.model import Command, Diagnosis, Finding, MatchSummary, Need, Recommendation

# Names load on first use (PEP 562), so that importing one part of this package does not
# import all of it: start-up time is part of the CLI (issue 11).
_LAZY = {
    "diagnose_evidence": "bot.diagnosis.build",
    "diagnose_lines": "bot.diagnosis.build",
    "Collected": "bot.diagnosis.collect",
    "LimitsPaste": "bot.diagnosis.collect",
    "Command": "bot.diagnosis.model",
    "Diagnosis": "bot.diagnosis.model",
    "Finding": "bot.diagnosis.model",
    "MatchSummary": "bot.diagnosis.model",
    "Need": "bot.diagnosis.model",
    "Recommendation": "bot.diagnosis.model",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "Collected",
    "Command",
    "Diagnosis",
    "Finding",
    "LimitsPaste",
    "MatchSummary",
    "Need",
    "Recommendation",
    "diagnose_evidence",
    "diagnose_lines",
]
