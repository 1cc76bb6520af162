"""Conclusions drawn across evidence, each with a stable id and the evidence it rests on.

KB entries explain one line; findings connect lines, config, limits and processes: the
traps where the obvious fix (raise worker_connections) does not help or does not apply.
What a finding says, when it applies and the cases that prove it are data in
``kb/findings/<id>.yaml``; its detection is one small check in ``bot/diagnosis/checks/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.diagnosis.checks import CHECKS, CheckContext, Facts
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Finding
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.templates import render_text
from bot.sizing import Recommendation as SizingRecommendation

if TYPE_CHECKING:
    from bot.knowledge.findings_schema import FindingEntry
    from bot.knowledge.schema import EnvironmentEntry


def applies_in(entry: FindingEntry, env: EnvironmentEntry | None) -> bool:
    """Whether the environment has one of the traits the finding requires (unknown: yes)."""
    if not entry.environment_traits or env is None:
        return True
    return any(trait in env.traits for trait in entry.environment_traits)


def render_finding(entry: FindingEntry, facts: Facts) -> Finding:
    """The finding's message and evidence lines from its templates and the check's facts."""
    values: dict[str, Any] = dict(facts)
    evidence: list[str] = []
    for item in entry.evidence:
        if not isinstance(item, str):  # an EachFact (a model, or its record from the KB cache)
            evidence += [str(v) for v in values[item.each]]
        elif line := render_text(item, values):
            evidence.append(line)
    return Finding(entry.id, entry.severity, render_text(entry.message, values), evidence)


def fired_checks(
    kb: KnowledgeBase, ev: Collected, rec: SizingRecommendation | None, env: EnvironmentEntry | None
) -> list[tuple[FindingEntry, Facts]]:
    """Every finding whose check fires on this evidence, with its facts, in the order the KB gives them."""
    out: list[tuple[FindingEntry, Facts]] = []
    for entry in sorted(kb.findings.values(), key=lambda e: (e.order, e.id)):
        check = CHECKS.get(entry.id)
        if check is None or not applies_in(entry, env):
            continue  # `kb lint` and the meta-test report a finding without a check
        facts = check(CheckContext(ev, rec, entry.reads))
        if facts is not None:
            out.append((entry, facts))
    return out


def cross_findings(
    kb: KnowledgeBase, ev: Collected, rec: SizingRecommendation | None, env: EnvironmentEntry | None
) -> list[Finding]:
    """Every finding whose check fires on this evidence, rendered, in the order the KB gives them."""
    return [render_finding(entry, facts) for entry, facts in fired_checks(kb, ev, rec, env)]
