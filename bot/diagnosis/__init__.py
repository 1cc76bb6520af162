"""Collected evidence, matches and sizing turned into a ``Diagnosis``: findings, fix plan, what is missing.

``Collected`` gathers everything the pastes hold (``collect``); ``diagnose_evidence``
builds the diagnosis from it (``build``), with the findings, the directive edits and the
commands for the environment (``findings``, ``plan``).
"""

from bot.diagnosis.build import diagnose_evidence, diagnose_lines
from bot.diagnosis.collect import Collected, LimitsPaste
from bot.diagnosis.model import Command, Diagnosis, Finding, MatchSummary, Need, Recommendation

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
