"""The fresh held-out set (issue 10, item 3): at least 90% of the questions answered first and
confidently by the entry they ask about, every off-topic question declined.

tests/data/ask-fresh-heldout.yaml was written and committed before the scorer, the synonyms or
the confidence rule were changed to pass it; its phrasings are not in kb/ (checked here), so a
change that makes this pass has to generalise, not memorise.
"""

from __future__ import annotations

import pytest
import yaml

from bot.faq.answer import FaqIndex, normalise
from bot.knowledge.loader import KnowledgeBase
from tests.conftest import DATA

FRESH = yaml.safe_load((DATA / "ask-fresh-heldout.yaml").read_text(encoding="utf-8"))
OTHER_SETS = ("ask-heldout.yaml", "ask-dev.yaml")
BAR = 0.90


@pytest.fixture(scope="module")
def index(kb: KnowledgeBase, matcher) -> FaqIndex:
    return FaqIndex(kb, matcher)


def test_at_least_ninety_percent_are_answered_by_the_right_entry(index):
    right, misses = 0, []
    for case in FRESH["answers"]:
        answer = index.ask(case["q"])
        if answer.id == case["want"] and answer.confident:
            right += 1
        else:
            misses.append(f"{case['q']!r}: want {case['want']}, got {answer.id} (confident={answer.confident})")
    share = right / len(FRESH["answers"])
    assert share >= BAR, f"{right}/{len(FRESH['answers'])} = {share:.0%} right:\n" + "\n".join(misses)


def test_every_off_topic_question_is_declined(index):
    accepted = [q for q in FRESH["off_topic"] if not index.ask(q).declined or index.ask(q).id is not None]
    assert not accepted, accepted


def test_the_set_is_big_fresh_and_not_in_the_kb(kb):
    answers = FRESH["answers"]
    assert len(answers) >= 40 and len(FRESH["off_topic"]) >= 15
    assert sum(1 for c in answers if c["want"] in kb.errors) >= 10
    own = {normalise(t) for f in kb.faqs.values() for t in (f.question, *f.phrasings)}
    own |= {normalise(e.title) for e in kb.errors.values()}
    others: set[str] = set()
    for name in OTHER_SETS:
        data = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
        others |= {normalise(c["q"]) for c in data["answers"]} | {normalise(q) for q in data["off_topic"]}
    for case in answers:
        assert case["want"] in kb.faqs or case["want"] in kb.errors, case
        assert normalise(case["q"]) not in own, f"copied from an entry: {case['q']!r}"
        assert normalise(case["q"]) not in others, f"in another set: {case['q']!r}"
    for question in FRESH["off_topic"]:
        assert normalise(question) not in others, question
