"""Every finding is a YAML file with a check and both kinds of case, and every case holds.

gixy/sqlfluff style: ``kb/findings/<id>.yaml`` must have cases that raise it (``fires``) and
cases that must not (``stays_silent``); a YAML without a check, a check without a YAML, or a
check module left out of the registry fails here. Each case is pasted as a user would,
through the real sniffer, parsers and diagnosis.
"""

from __future__ import annotations

import dataclasses
import pkgutil
from pathlib import Path

import pytest

import bot.diagnosis.checks as checks_pkg
from bot.diagnosis.checks import CHECKS, READS
from bot.diagnosis.finding_cases import case_diagnosis, check_findings, run_case
from bot.knowledge.findings_schema import FindingCase
from bot.knowledge.loader import load_kb

_KB = load_kb()
FINDINGS = sorted(_KB.findings)
CASES = [
    (fid, kind, i)
    for fid in FINDINGS
    for kind, cases in (("fires", _KB.findings[fid].fires), ("stays_silent", _KB.findings[fid].stays_silent))
    for i in range(len(cases))
]

DESIGN_FINDING_IDS = (
    "fd-limit-below-connections",
    "setrlimit-not-permitted",
    "limits-read-from-master",
    "limits-conf-ignored-by-systemd",
    "restart-needed",
    "old-workers-keep-limits",
    "proxy-loop",
    "cache-manager-connections",
    "slow-upstream",
    "worker-processes-vs-cpus",
    "uneven-worker-load",
    "localhost-dual-stack",
    "fastcgi-pool-saturated",
    "fd-limit-at-connections",
)


def test_the_existing_finding_ids_are_covered():
    assert set(DESIGN_FINDING_IDS) <= set(FINDINGS)


@pytest.mark.parametrize("fid", FINDINGS)
def test_finding_has_both_kinds_of_case(fid):
    entry = _KB.findings[fid]
    assert entry.fires, f"kb/findings/{fid}.yaml: add a `fires` case (evidence that must raise it)"
    assert entry.stays_silent, f"kb/findings/{fid}.yaml: add a `stays_silent` case (evidence that must not)"


def test_every_yaml_has_a_check_and_every_check_a_yaml():
    assert set(FINDINGS) == set(CHECKS)


def test_every_check_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(checks_pkg.__path__)} - {"context"}
    assert {fid.replace("-", "_") for fid in CHECKS} == modules


@pytest.mark.parametrize("fid", FINDINGS)
def test_reads_slots_match_the_check(fid):
    assert set(_KB.findings[fid].reads) == set(READS[fid])


@pytest.mark.parametrize(("fid", "kind", "i"), CASES)
def test_case(kb, matcher, fid, kind, i):
    entry = kb.findings[fid]
    case = getattr(entry, kind)[i]
    raised = {f.id: f for f in run_case(kb, matcher, entry, case)}
    if kind == "fires":
        assert fid in raised, f"{case.name}: {fid} did not fire"
        recommended = {r.directive: r for r in case_diagnosis(kb, matcher, entry, case).recommendations}
        for directive in case.recommends:
            assert directive in recommended, f"{case.name}: no change of {directive}: {sorted(recommended)}"
            rec = recommended[directive]
            # a top-level insertion keeps line None (tests/unit/test_kb_homes.py); every other change has its line
            assert rec.file and (rec.line or rec.context in ("main", "events", "http")), rec
        finding = raised[fid]
        assert case.message is None or case.message in finding.message
        assert "None" not in finding.message and "{" not in finding.message
        assert all(line.strip() for line in finding.evidence)
    else:
        assert fid not in raised, f"{case.name}: {fid} fired: {raised.get(fid)}"


def test_kb_lint_finds_nothing_wrong_with_the_findings(kb, matcher):
    assert check_findings(kb, matcher) == []


def test_a_finding_without_silent_cases_or_check_fails_lint(kb, matcher):
    """The meta-check itself can fail: plant a finding with no stays_silent case, one whose
    case does not fire, and a YAML without a check."""
    proxy = kb.findings["proxy-loop"]
    silent_gone = proxy.model_copy(update={"stays_silent": []})
    wrong_case = FindingCase(name="a plain alert", evidence=["alert-1024.log"])
    never_fires = kb.findings["restart-needed"].model_copy(update={"fires": [wrong_case]})
    orphan = proxy.model_copy(update={"id": "no-such-check"})
    planted = dataclasses.replace(
        kb,
        findings={**kb.findings, "proxy-loop": silent_gone, "restart-needed": never_fires, "no-such-check": orphan},
        sources={**kb.sources, "findings/no-such-check": Path(kb.sources["findings/proxy-loop"])},
    )
    problems = "\n".join(check_findings(planted, matcher))
    assert "proxy-loop.yaml: stays_silent: no case that must not raise the finding" in problems
    assert "restart-needed.yaml: fires.0: a plain alert: the finding did not fire" in problems
    assert "no check for 'no-such-check'" in problems
