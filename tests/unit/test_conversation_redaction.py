"""The conversation names what it masked, once, in the answer to the paste that held it: a first
diagnosis, a guided step's check, a question; and it names what a front door already masked
(``Incoming.masked``) without masking or counting anything twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.model import ConversationState, Incoming, IncomingFile, Reply
from bot.evidence.redaction import redact_intake

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "worker-connections"
ALERT_LOG = (EXAMPLE / "error.log").read_text()
NGINX_T = (EXAMPLE / "nginx-T.txt").read_text()
WORKER_LIMITS = (EXAMPLE / "worker-limits.txt").read_text()
THREAD = "T1:C1:1700000000.000200"
SECRETS = 'proxy_set_header Cookie "sid=Zq7-conv";\nenv STRIPE_KEY=sk_live_Zq7convZq7conv;\n'
NOTE = "I masked 2 secrets (Cookie header, env STRIPE_KEY) before storing your paste"


@pytest.fixture(scope="module")
def engine(kb, matcher) -> ConversationEngine:
    return ConversationEngine(kb, matcher)


def say(engine: ConversationEngine, state: ConversationState | None, incoming: Incoming) -> list[Reply]:
    return engine.handle(state, incoming)[1]


def test_the_first_answer_names_what_was_masked_once(engine: ConversationEngine) -> None:
    state, replies = engine.handle(None, Incoming(THREAD, "U1", ALERT_LOG + SECRETS))
    assert sum(NOTE in r.text for r in replies) == 1
    assert "Zq7" not in state.to_json()
    _, later = engine.handle(state, Incoming(THREAD, "U1", NGINX_T))
    assert not any("I masked" in r.text for r in later)  # nothing masked in that paste: no note


def test_what_a_front_door_masked_is_named_and_not_counted_twice(engine: ConversationEngine) -> None:
    redacted = redact_intake(ALERT_LOG + SECRETS)
    upload = redact_intake(NGINX_T + 'add_header Set-Cookie "a=Zq7-upload";\n')
    incoming = Incoming(
        THREAD,
        "U1",
        redacted.text,
        (IncomingFile("nginx-T.txt", upload.text, upload.keys),),
        masked=redacted.keys,
    )
    replies = say(engine, None, incoming)
    assert "I masked 3 secrets (Cookie header, env STRIPE_KEY, Set-Cookie header)" in replies[0].text


def test_a_guided_step_paste_says_what_it_masked(engine: ConversationEngine) -> None:
    state, _ = engine.handle(None, Incoming(THREAD, "U1", ALERT_LOG))
    state, _ = engine.handle(state, Incoming(THREAD, "U1", surface="action", action="guide_start"))
    state, replies = engine.handle(state, Incoming(THREAD, "U1", NGINX_T + SECRETS))
    assert replies[0].kind == "guide_check"
    assert NOTE in replies[0].text
    assert "Zq7" not in state.to_json()


def test_a_question_with_a_secret_says_so(engine: ConversationEngine) -> None:
    replies = say(engine, None, Incoming(THREAD, "U1", "why does Authorization: Bearer Zq7tokenZq7 fail?"))
    assert any("I masked 1 secret (Authorization header)" in r.text for r in replies)
    assert not any("Zq7" in r.text for r in replies)


def test_the_note_stays_in_sight_when_a_long_answer_is_cut(engine: ConversationEngine) -> None:
    corpus = (Path(__file__).resolve().parents[1] / "data" / "redaction" / "nginx-T-secrets.txt").read_text()
    (reply, *_) = say(engine, None, Incoming(THREAD, "U1", corpus))
    # The first answer is short now (issue 10): the note is in it, once, however long the paste.
    assert reply.text.count("I masked") == 1 and len(reply.text) <= 3000
    cut = [a.content for a in reply.attachments if a.filename == "nginx-triage-reply.md"]
    assert all("I masked" in c for c in cut)
