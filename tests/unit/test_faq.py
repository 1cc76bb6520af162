"""`ask` finds the right FAQ for questions worded unlike any stored phrasing, and gives
no confident answer to questions the FAQ does not cover."""

from __future__ import annotations

from bot.faq.answer import FaqIndex, normalise
from tests.conftest import DATA

CASES = [
    tuple(line.split("|", 1))
    for line in (DATA / "faq-questions.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def test_held_out_questions(kb):
    index = FaqIndex(kb)
    right, wrong_confident, misses = 0, 0, []
    covered = [(w, q) for w, q in CASES if w != "none"]
    for want, question in covered:
        answer = index.ask(question)
        if answer.id == want:
            right += 1
        else:
            misses.append(f"{question!r}: want {want}, got {answer.id}")
            wrong_confident += answer.id is not None
    assert right / len(covered) >= 0.8, "\n".join(misses)
    assert wrong_confident <= 2, "\n".join(misses)


def test_off_topic_questions_get_no_confident_answer(kb):
    index = FaqIndex(kb)
    for want, question in CASES:
        if want == "none":
            answer = index.ask(question)
            assert answer.id is None and not answer.confident, question
            assert answer.alternatives, "offer the closest questions instead"


def test_each_faq_answers_its_own_question(kb):
    index = FaqIndex(kb)
    for faq in kb.faqs.values():
        assert index.ask(faq.question).id == faq.id


def test_normalise_drops_filler_and_punctuation():
    assert normalise("Why does NGINX use 2 connections?!") == "use 2 connections"
