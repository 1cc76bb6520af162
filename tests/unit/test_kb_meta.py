"""Every KB entry's examples are tests: each must match its entry alone, each near miss
must match nothing, every fix template must render, every regex must stay linear."""

from __future__ import annotations

import pytest

from bot.cli.kb_lint import (
    adversarial_inputs,
    check_references,
    check_regex_speed,
    check_required,
    check_templates,
)
from bot.evidence.errorlog import parse_line
from bot.knowledge.loader import REQUIRED_ERROR_IDS, load_kb
from bot.knowledge.schema import ErrorEntry
from bot.matching.matcher import Matcher

_KB = load_kb()
ENTRIES = sorted(_KB.errors.values(), key=lambda e: e.id)
EXAMPLES = [(e.id, i, ex.line, ex.facts) for e in ENTRIES for i, ex in enumerate(e.examples)]
NEAR_MISSES = [(e.id, i, nm.line) for e in ENTRIES for i, nm in enumerate(e.near_misses)]


def test_required_ids_present(kb):
    assert check_required(kb) == []


def test_references_resolve(kb):
    assert check_references(kb) == []


def test_every_required_entry_has_examples_and_near_misses(kb):
    for entry_id in REQUIRED_ERROR_IDS:
        entry = kb.errors[entry_id]
        assert len(entry.examples) >= 2, f"{entry_id}: give at least two real example lines"
        assert entry.near_misses, f"{entry_id}: give at least one near miss"


@pytest.mark.parametrize(("kb_id", "index", "line", "facts"), EXAMPLES, ids=[f"{e[0]}-{e[1]}" for e in EXAMPLES])
def test_example_matches_its_entry_only(matcher: Matcher, kb_id, index, line, facts):
    parsed = parse_line(line)
    hits = matcher.all_regex_matches(parsed)
    assert hits, f"no entry matched {line!r}"
    assert hits[0][0] == kb_id, f"{line!r} matched {hits[0][0]}, want {kb_id}"
    rivals = [h for h in hits[1:] if h[1] >= hits[0][1]]
    assert not rivals, f"{line!r} also matched {rivals} at the same priority"
    match = matcher.match(parsed)
    assert match is not None and match.kb_id == kb_id and match.method == "regex"
    for key, want in facts.items():
        assert match.facts.get(key) == want, f"fact {key}: got {match.facts.get(key)!r}"


@pytest.mark.parametrize(("kb_id", "index", "line"), NEAR_MISSES, ids=[f"{n[0]}-{n[1]}" for n in NEAR_MISSES])
def test_near_miss_matches_nothing(matcher: Matcher, kb_id, index, line):
    got = matcher.match(parse_line(line))
    assert got is None, f"near miss of {kb_id} matched {got.kb_id} ({got.method}): {line!r}"


def test_fix_templates_render_without_evidence(kb):
    assert check_templates(kb) == []


def test_regexes_stay_linear_on_adversarial_lines(kb):
    assert check_regex_speed(kb) == []


def test_adversarial_inputs_are_10kb_near_matches():
    entry: ErrorEntry = ENTRIES[0]
    inputs = list(adversarial_inputs(entry))
    assert inputs and all(9_000 <= len(t) <= 10_100 for t in inputs)
    assert any(entry.match.anchors[0] in t for t in inputs)
