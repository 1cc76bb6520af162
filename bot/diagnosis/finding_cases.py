"""Run the ``fires`` and ``stays_silent`` cases of ``kb/findings/*.yaml`` (gixy/sqlfluff style).

A finding is only as good as the evidence that proves it: each case is pasted, as a user
would, through the real sniffer, parsers and diagnosis. ``nginx-triage kb lint`` and the
meta-test run the same function, so an author sees what CI will say.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.checks import CHECKS, READS
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Diagnosis, Finding
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher

if TYPE_CHECKING:
    from bot.knowledge.findings_schema import FindingCase, FindingEntry

CASES_DIR = "cases"
"""Evidence files of the cases live in ``kb/findings/cases/``."""


def cases_dir(kb: KnowledgeBase, entry: FindingEntry) -> Path:
    """Where the case files of ``entry`` are (beside its YAML)."""
    source = kb.sources.get(f"findings/{entry.id}")
    return (source.parent if source else Path("kb/findings")) / CASES_DIR


def case_pastes(kb: KnowledgeBase, entry: FindingEntry, case: FindingCase) -> list[str]:
    """The pastes of one case, files first; ``FileNotFoundError`` names a missing file."""
    base = cases_dir(kb, entry)
    return [(base / name).read_text(encoding="utf-8") for name in case.evidence] + list(case.paste)


def case_diagnosis(kb: KnowledgeBase, matcher: Matcher, entry: FindingEntry, case: FindingCase) -> Diagnosis:
    """The diagnosis of this case's pastes. ``ValueError`` if the evidence did not parse."""
    ev = Collected()
    for i, text in enumerate(case_pastes(kb, entry, case), 1):
        ev.add_text(text, matcher, f"paste {i}")
    if ev.problems:
        raise ValueError("; ".join(ev.problems))
    return diagnose_evidence(ev, kb, case.target_concurrency, case.environment)


def run_case(kb: KnowledgeBase, matcher: Matcher, entry: FindingEntry, case: FindingCase) -> list[Finding]:
    """Every finding the diagnosis of this case raises. ``ValueError`` if the evidence did not parse."""
    return case_diagnosis(kb, matcher, entry, case).findings


def _case_problems(
    kb: KnowledgeBase, matcher: Matcher, entry: FindingEntry, where: str, key: str, i: int, case: FindingCase
) -> list[str]:
    fires = key == "fires"
    try:
        diagnosis = case_diagnosis(kb, matcher, entry, case)
    except (OSError, ValueError) as exc:
        return [f"{where}: {key}.{i}: {case.name}: evidence unusable: {exc}"]
    found = [f for f in diagnosis.findings if f.id == entry.id]
    recommended = {r.directive for r in diagnosis.recommendations}
    missing = [d for d in case.recommends if d not in recommended]
    if fires and found and missing:
        return [f"{where}: {key}.{i}: {case.name}: recommends: nothing changes {missing}"]
    if fires and not found:
        return [f"{where}: {key}.{i}: {case.name}: the finding did not fire"]
    if not fires and found:
        return [f"{where}: {key}.{i}: {case.name}: the finding fired: {found[0].message[:120]}"]
    if fires and case.message and case.message not in found[0].message:
        return [f"{where}: {key}.{i}: message: {case.message!r} is not in {found[0].message!r}"]
    return []


def check_findings(kb: KnowledgeBase, matcher: Matcher) -> list[str]:
    """Every finding has a check, both kinds of case, known ids and traits, and passes its cases."""
    problems: list[str] = []
    traits = {t for env in kb.environments.values() for t in env.traits}
    for entry in kb.findings.values():
        where = str(kb.sources.get(f"findings/{entry.id}", entry.id))
        module = f"bot/diagnosis/checks/{entry.id.replace('-', '_')}.py"
        if entry.id not in CHECKS:
            problems.append(f"{where}: id: no check for {entry.id!r}: add {module} and list it in checks/__init__.py")
            continue
        if not entry.fires:
            problems.append(f"{where}: fires: no case that must raise the finding")
        if not entry.stays_silent:
            problems.append(f"{where}: stays_silent: no case that must not raise the finding")
        if set(entry.reads) != set(READS[entry.id]):
            want, got = sorted(READS[entry.id]), sorted(entry.reads)
            problems.append(f"{where}: reads: {module} reads the slots {want}, the YAML gives {got}")
            continue
        for slot, ids in entry.reads.items():
            problems += [f"{where}: reads.{slot}: unknown error entry {i!r}" for i in ids if i not in kb.errors]
        unknown = [t for t in entry.environment_traits if t not in traits]
        problems += [f"{where}: environment_traits: no environment declares {t!r}" for t in unknown]
        for key, cases in (("fires", entry.fires), ("stays_silent", entry.stays_silent)):
            for i, case in enumerate(cases):
                problems += _case_problems(kb, matcher, entry, where, key, i, case)
    problems += [
        f"bot/diagnosis/checks/{fid.replace('-', '_')}.py: no kb/findings/{fid}.yaml for this check"
        for fid in CHECKS
        if fid not in kb.findings
    ]
    return problems
