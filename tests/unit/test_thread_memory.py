"""The thread remembers (issue 10, items 1-3 and 5): questions about the thread's own diagnosis
are answered from it, button words typed as text work also after a question, later pastes
update the first answer in place, and a second diff after an applied change needs a fresh
`nginx -T`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.first_answer import FIRST_ANSWER_CHARS
from bot.conversation.model import Incoming
from bot.render.slack_limits import validate_blocks

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "worker-connections"
PASTES = [(EXAMPLE / name).read_text() for name in ("error.log", "nginx-T.txt", "worker-limits.txt")]


@pytest.fixture(scope="module")
def engine(kb, matcher) -> ConversationEngine:
    return ConversationEngine(kb, matcher)


def _thread(engine: ConversationEngine, answer_ref: str | None = None):
    state = None
    for i, paste in enumerate(PASTES):
        state, replies = engine.handle(state, Incoming("t", "u", paste))
        if i == 0:
            assert len(replies[0].text) <= FIRST_ANSWER_CHARS and replies[0].command == "sudo nginx -T 2>&1"
            state.answer_ref = answer_ref
    return state, replies


def test_is_n_enough_answers_with_the_computed_demand_and_ceiling(engine):
    state, _ = _thread(engine)
    _, [yes] = engine.handle(state, Incoming("t", "u", "is 2048 enough?"))
    assert yes.text.startswith("Yes") and "10 concurrent requests" in yes.text
    assert "14 connections in total now" in yes.text and "1022 with worker_connections 1024" in yes.text
    _, [no] = engine.handle(state, Incoming("t", "u", "would 512 worker_connections be enough"))
    assert no.text.startswith("No") and "510 connections" in no.text


def test_which_file_and_can_i_ignore_come_from_the_thread(engine):
    state, _ = _thread(engine)
    _, [where] = engine.handle(state, Incoming("t", "u", "which file?"))
    assert "nginx.conf:5" in where.text
    _, [ignore] = engine.handle(state, Incoming("t", "u", "can I ignore these?"))
    assert "(critical): no, users are affected now" in ignore.text
    assert "(info): yes, it is informational" in ignore.text


def test_typed_done_works_after_a_question_in_between(engine):
    state, _ = _thread(engine)
    state, [step1] = engine.handle(state, Incoming("t", "u", "Walk me through it"))
    assert step1.kind == "guide_step" and "Step 1 of 5" in step1.text
    state, [faq] = engine.handle(state, Incoming("t", "u", "what does upstream prematurely closed mean"))
    assert faq.kind == "faq" and state.guide_step == 1
    state, [step2] = engine.handle(state, Incoming("t", "u", "Done."))
    assert step2.kind == "guide_step" and "Step 2 of 5" in step2.text and state.guide_step == 2


def test_a_later_paste_updates_the_first_answer_and_says_what_changed(engine):
    _state, replies = _thread(engine, answer_ref="1700000000.000100")
    main, note = replies
    assert main.replaces == "1700000000.000100" and main.kind == "diagnosis"
    assert note.kind == "update" and "Updated the answer above" in note.text
    assert not any(a.filename == "nginx-triage-diagnosis.md" for a in main.attachments)  # attached once, earlier


def test_a_second_diff_after_the_applied_change_waits_for_a_fresh_nginx_T(engine):
    state, replies = _thread(engine)
    assert replies[0].diagnosis is not None and replies[0].diagnosis.diff
    state, _ = engine.handle(state, Incoming("t", "u", "walk"))
    state, _ = engine.handle(state, Incoming("t", "u", "done"))
    state, [step3] = engine.handle(state, Incoming("t", "u", "done"))  # the change is applied
    assert state.config_stale and "Step 3" in step3.text
    state, replies = engine.handle(state, Incoming("t", "u", "$ nproc\n4\n"))
    assert replies  # more evidence, the guide goes on; the thread now wants a fresh nginx -T
    state.guide_step = None
    state, [again, *_] = engine.handle(state, Incoming("t", "u", "$ nproc\n8\n"))
    assert again.diagnosis is not None and again.diagnosis.diff == ""
    assert "fresh `sudo nginx -T 2>&1`" in again.text
    state, [fresh, *_] = engine.handle(state, Incoming("t", "u", PASTES[1]))
    assert not state.config_stale and fresh.diagnosis is not None and fresh.diagnosis.diff


def test_the_validator_checks_rich_text_and_expand():
    good = [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "ls"}]}],
        }
    ]
    assert validate_blocks(good) == []
    long = [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "x" * 3001}]}],
        }
    ]
    assert any("3001 chars" in p for p in validate_blocks(long))
    assert validate_blocks([{"type": "rich_text", "elements": []}])
    bad = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "expand": "yes"}]
    assert any("expand" in p for p in validate_blocks(bad))


TIMEOUT_LINE = (
    "2024/03/02 10:11:10 [error] 2719#2719: *50 upstream timed out (110: Connection timed out) while reading "
    'response header from upstream, client: 10.0.0.2, server: x, request: "GET /slow HTTP/1.1", '
    'upstream: "http://10.0.0.9:8080/slow", host: "x"'
)


def test_a_thread_not_about_capacity_does_not_answer_with_capacity(engine):
    state, [first] = engine.handle(None, Incoming("t9", "u", TIMEOUT_LINE))
    assert first.diagnosis is not None and not first.diagnosis.capacity
    _, [reply] = engine.handle(state, Incoming("t9", "u", "is 2048 enough?"))
    assert "concurrent requests" not in reply.text and "worker process')/limits" not in reply.text
    _, [ignore] = engine.handle(state, Incoming("t9", "u", "can I ignore these?"))
    assert "(high): no, requests fail while it happens" in ignore.text
