"""Questions typed in a thread (Slack or `nginx-triage chat`) go through the same scorer as
`nginx-triage ask`: error entries answer "what does X mean", off-topic is declined in one line,
and the thread's evidence is kept either way."""

from __future__ import annotations

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.model import Incoming
from bot.knowledge.texts import say
from tests.unit.test_conversation import ALERT_LOG


@pytest.fixture(scope="module")
def engine(kb, matcher) -> ConversationEngine:
    return ConversationEngine(kb, matcher)


def test_what_an_error_means_is_answered_from_its_entry(engine, kb):
    state, _ = engine.handle(None, Incoming("t1", "u", ALERT_LOG))
    state2, [reply] = engine.handle(state, Incoming("t1", "u", "what does upstream prematurely closed mean?"))
    entry = kb.errors["upstream-prematurely-closed"]
    assert reply.kind == "faq" and reply.answer is not None and reply.answer.kind == "error"
    assert entry.title in reply.text and entry.causes[0] in reply.text
    assert state2.pastes == state.pastes


@pytest.mark.parametrize(
    "question",
    ["what's the weather tomorrow", "write me a poem", "how do I configure apache?", "kubernetes pod crashloop"],
)
def test_off_topic_is_declined_in_one_line(engine, question):
    state, _ = engine.handle(None, Incoming("t2", "u", ALERT_LOG))
    state2, [reply] = engine.handle(state, Incoming("t2", "u", question))
    assert reply.kind == "error" and reply.text == say("faq.declined")
    assert "\n" not in reply.text.strip() and len(reply.text) < 250
    assert state2.pastes == state.pastes


def test_a_statement_that_is_no_question_still_says_what_to_paste(engine):
    _, [reply] = engine.handle(None, Incoming("t3", "u", "lorem ipsum dolor\nsit amet consectetur"))
    assert reply.kind == "error" and "error.log" in reply.text and reply.text != say("faq.declined")
