"""Question answering (issue 10): ranked retrieval over FAQ and error entries, judged on
questions written for the purpose (tests/data/ask-heldout.yaml, never tuned on) and on the
tuning set (tests/data/ask-dev.yaml); off-topic questions are declined.

Measured when the scorer was written: held-out 40 of 52 answered right (77%), 2 wrong answers,
the right entry listed first (answer or first closest question) 46 of 52 (88%) and among the
first three 52 of 52, all 20 off-topic declined; tuning set 24 of 34 (71%), all 15 off-topic declined; the older
tests/data/faq-questions.txt 31 of 35. The issue's target is 90% on held-out phrasings and is
NOT reached: the bars below are what the scorer does today, so they can only rise.
After errno words in error entries, "what does X mean" favouring error entries, a whole-question
first place and more synonyms (measured on tests/data/ask-fresh-heldout.yaml, 49 of 54): this
set 41 of 52, the tuning set 25 of 34.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from bot.faq.answer import FaqIndex, normalise
from bot.knowledge.loader import KnowledgeBase, KnowledgeBaseError, load_kb
from tests.conftest import DATA, ROOT

HELD_OUT = yaml.safe_load((DATA / "ask-heldout.yaml").read_text(encoding="utf-8"))
TUNING = yaml.safe_load((DATA / "ask-dev.yaml").read_text(encoding="utf-8"))

HELD_OUT_BAR = 0.75
TUNING_BAR = 0.70
MAX_WRONG_ANSWERS = 3
"""A confident wrong answer is worse than "which of these did you mean": at most this many per set."""


@pytest.fixture(scope="module")
def index(kb: KnowledgeBase, matcher) -> FaqIndex:
    return FaqIndex(kb, matcher)


def _score(index: FaqIndex, cases: list[dict[str, str]]) -> tuple[float, int, list[str]]:
    right, wrong, misses = 0, 0, []
    for case in cases:
        answer = index.ask(case["q"])
        if answer.id == case["want"]:
            right += 1
            continue
        wrong += answer.id is not None
        misses.append(f"{case['q']!r}: want {case['want']}, got {answer.id}")
    return right / len(cases), wrong, misses


@pytest.mark.parametrize(("data", "bar"), [(HELD_OUT, HELD_OUT_BAR), (TUNING, TUNING_BAR)], ids=["held-out", "tuning"])
def test_phrasings_find_their_entry(index, data, bar):
    share, wrong, misses = _score(index, data["answers"])
    assert share >= bar, f"{share:.0%} right:\n" + "\n".join(misses)
    assert wrong <= MAX_WRONG_ANSWERS, "\n".join(misses)


@pytest.mark.parametrize("data", [HELD_OUT, TUNING], ids=["held-out", "tuning"])
def test_the_right_entry_is_always_offered(index, data):
    """When not sure, the closest questions are offered: the right one must be among the first three."""
    missing = []
    for case in data["answers"]:
        answer = index.ask(case["q"])
        offered = ([answer.id] if answer.id else []) + [a.id for a in answer.alternatives]
        if case["want"] not in offered[:3]:
            missing.append(f"{case['q']!r}: {case['want']} not in {offered[:3]}")
    assert len(missing) <= len(data["answers"]) // 20, "\n".join(missing)


@pytest.mark.parametrize("data", [HELD_OUT, TUNING], ids=["held-out", "tuning"])
def test_off_topic_questions_are_all_declined(index, data):
    for question in data["off_topic"]:
        answer = index.ask(question)
        assert answer.id is None and not answer.confident and answer.declined, question
        assert answer.alternatives, "the JSON still lists the closest questions (DESIGN.md)"


def test_the_sets_are_big_enough_and_not_copied_from_the_entries(kb):
    assert len(HELD_OUT["answers"]) >= 40 and len(HELD_OUT["off_topic"]) >= 15
    assert sum(1 for c in HELD_OUT["answers"] if c["want"] in kb.errors) >= 10
    own = {normalise(t) for f in kb.faqs.values() for t in (f.question, *f.phrasings)}
    own |= {normalise(e.title) for e in kb.errors.values()}
    for data in (HELD_OUT, TUNING):
        for case in data["answers"]:
            assert case["want"] in kb.faqs or case["want"] in kb.errors, case
            assert normalise(case["q"]) not in own, f"copied from an entry: {case['q']!r}"
    held = {normalise(c["q"]) for c in HELD_OUT["answers"]} | {normalise(q) for q in HELD_OUT["off_topic"]}
    tuned = {normalise(c["q"]) for c in TUNING["answers"]} | {normalise(q) for q in TUNING["off_topic"]}
    assert not held & tuned, "a held-out question is also in the tuning set"


def test_an_error_entry_answers_what_its_message_means(index, kb):
    answer = index.ask("what does upstream prematurely closed mean")
    entry = kb.errors["upstream-prematurely-closed"]
    assert answer.confident and answer.id == entry.id and answer.kind == "error"
    assert answer.question is not None and entry.title in answer.question
    assert answer.answer is not None and " ".join(entry.meaning.split()[:8]) in " ".join(answer.answer.split())
    assert entry.causes[0] in answer.answer


def test_a_faq_that_covers_more_than_the_quoted_message_answers(index):
    # "upstream timed out" is a message the matcher knows; "504" is what the FAQ adds.
    answer = index.ask("upstream timed out 504")
    assert answer.id == "what-is-502-vs-504" and answer.kind == "faq"


def test_synonyms_stems_flags_and_typos_reach_the_same_terms(index):
    terms = index.index.analyzer
    assert terms.terms("file descriptors") == terms.terms("open files") == terms.terms("nofile") == ["fd"]
    assert terms.terms("bad gateway") == ["502"] and terms.terms("wc") == ["worker_connections"]
    assert terms.terms("nginx -T") != terms.terms("nginx -t")
    assert terms.query_terms("worker_conections") == ["worker_connections"]
    assert terms.query_terms("relaod") == terms.terms("reload")
    assert terms.query_terms("weather") == ["weather"]  # a real word is no typo of "either"
    assert terms.query_terms("listen 10.0.0.1:8080 failed at 2024/03/02 10:11:12") == terms.terms("listen failed")


def test_asking_imports_no_retrieval_library_until_a_question_comes():
    code = (
        "import sys, bot.faq.answer, bot.conversation.engine, bot.cli.app\n"
        "print(sorted(m for m in ('bm25s', 'numpy', 'Stemmer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_broken_synonym_table_fails_at_load_with_file_and_line(tmp_path):
    extra = tmp_path / "kb" / "faq"
    extra.mkdir(parents=True)
    (extra / "synonyms.yaml").write_text(
        "id: synonyms\nsynonyms:\n  - term: fd\n    same: [nofile]\n  - term: Bad Term\n    same: [x]\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as exc:
        load_kb([ROOT / "kb", tmp_path / "kb"])
    assert any("synonyms.yaml:5" in p and "term" in p for p in exc.value.problems), exc.value.problems


def test_an_extra_directory_adds_synonyms(tmp_path, kb):
    extra = tmp_path / "kb" / "faq"
    extra.mkdir(parents=True)
    (extra / "synonyms.yaml").write_text(
        "id: synonyms\nsynonyms:\n  - term: reload\n    same: [bounce]\nignore: [yo]\n", encoding="utf-8"
    )
    merged = load_kb([ROOT / "kb", tmp_path / "kb"])
    assert merged.vocabulary is not None and kb.vocabulary is not None
    groups = {g.term: g.same for g in merged.vocabulary.synonyms}
    assert groups["reload"] == ["bounce"] and "fd" in groups and "yo" in merged.vocabulary.ignore
    assert FaqIndex(merged).ask("yo should i bounce nginx or reload it").id == "reload-or-restart"
