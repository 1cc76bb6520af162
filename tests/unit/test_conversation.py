"""The conversation engine through the real KB, sniffer, parsers and the real example capture."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.model import ACTION_IDS, ConversationState, Incoming, IncomingFile, Reply
from bot.conversation.texts import DIFF_FILE, TEXT_LIMIT

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "worker-connections"
ALERT_LOG = (EXAMPLE / "error.log").read_text()
NGINX_T = (EXAMPLE / "nginx-T.txt").read_text()
WORKER_LIMITS = (EXAMPLE / "worker-limits.txt").read_text()
THREAD = "T1:C1:1700000000.000100"

TEST_OK = (
    "nginx: the configuration file /tmp/ngx/nginx.conf syntax is ok\n"
    "nginx: configuration file /tmp/ngx/nginx.conf test is successful\n"
)
TEST_FAILED = (
    'nginx: [emerg] unknown directive "worker_conections" in /tmp/ngx/nginx.conf:5\n'
    "nginx: configuration file /tmp/ngx/nginx.conf test failed\n"
)
MASTER_LIMITS = "$ cat /proc/$(cat /tmp/ngx/nginx.pid)/limits\n" + WORKER_LIMITS.replace("20000", "1024 ")


@pytest.fixture(scope="module")
def engine(kb, matcher) -> ConversationEngine:
    return ConversationEngine(kb, matcher)


def say(
    engine: ConversationEngine, state: ConversationState | None, text: str = "", files: tuple[IncomingFile, ...] = ()
) -> tuple[ConversationState, list[Reply]]:
    return engine.handle(state, Incoming(THREAD, "U1", text, files))


def press(
    engine: ConversationEngine, state: ConversationState | None, action: str, value: str = ""
) -> tuple[ConversationState, list[Reply]]:
    return engine.handle(state, Incoming(THREAD, "U1", surface="action", action=action, action_value=value))


def restarted(state: ConversationState) -> ConversationState:
    """What a bot restart does: the state only survives as JSON in the store."""
    return ConversationState.from_json(state.to_json())


def everything_sent(replies: list[Reply]) -> str:
    return "\n".join(r.text + "\n" + "\n".join(a.content for a in r.attachments) for r in replies)


def check_limits(replies: list[Reply]) -> None:
    for r in replies:
        assert len(r.text) <= TEXT_LIMIT, (r.kind, len(r.text))
        for b in r.buttons:
            assert b.action_id in ACTION_IDS and len(b.text) <= 75 and len(b.value) <= 2000


# --- first paste, then more evidence ----------------------------------------------------


def test_alert_asks_for_nginx_T_and_limits_with_commands(engine):
    state, replies = say(engine, None, ALERT_LOG)
    check_limits(replies)
    [reply] = replies
    assert reply.kind == "diagnosis"
    assert "worker_connections are not enough" in reply.text
    assert "113 lines" in reply.text
    assert "**Still needed:**" in reply.text
    assert "`sudo nginx -T 2>&1`" in reply.text and reply.command == "sudo nginx -T 2>&1"
    assert len(reply.text) <= 1500  # the first answer names one piece of evidence; the report has all
    report = next(a.content for a in reply.attachments if a.filename == "nginx-triage-diagnosis.md")
    assert "cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits" in report
    assert [b.action_id for b in reply.buttons] == [
        "guide_start",
        "feedback_helpful",
        "feedback_not_helpful",
        "feedback_human",
    ]
    assert reply.buttons[0].text == "Walk me through it"
    assert not any(a.filename == DIFF_FILE for a in reply.attachments)
    assert reply.diagnosis is not None and {n.evidence for n in reply.diagnosis.needs} >= {"nginx-T", "worker-limits"}
    assert state.pastes == [ALERT_LOG] and state.thread == THREAD


def test_nginx_T_and_limits_later_give_file_line_and_a_diff(engine):
    state, _ = say(engine, None, ALERT_LOG)
    state, replies = say(engine, restarted(state), NGINX_T + "\n" + WORKER_LIMITS)
    check_limits(replies)
    [reply] = replies
    assert reply.kind == "diagnosis"
    assert "`/tmp/ngx/nginx.conf:5`" in reply.text
    assert "**What changed with your new paste**" in reply.text
    assert "I can now name the line" in reply.text
    assert "**Still needed:**" not in reply.text
    diff = next(a for a in reply.attachments if a.filename == DIFF_FILE)
    assert diff.filetype == "diff"
    assert "-    worker_connections 16;" in diff.content and "+    worker_connections 1024;" in diff.content
    assert len(state.pastes) == 2


def test_evidence_as_uploaded_files(engine):
    files = (
        IncomingFile("error.log", ALERT_LOG),
        IncomingFile("nginx-T.txt", NGINX_T),
        IncomingFile("limits.txt", WORKER_LIMITS),
    )
    state, [reply] = say(engine, None, "", files)
    assert reply.kind == "diagnosis" and "`/tmp/ngx/nginx.conf:5`" in reply.text
    assert len(state.pastes) == 3


# --- questions, help, junk --------------------------------------------------------------


def test_faq_in_a_thread_keeps_the_evidence(engine):
    state, _ = say(engine, None, ALERT_LOG)
    state2, [reply] = say(engine, state, "why does a proxied request use two connections?")
    assert reply.kind == "faq" and reply.answer is not None and reply.answer.id == "proxy-uses-two-connections"
    assert state2.pastes == state.pastes
    check_limits([reply])


def test_unsure_question_lists_the_closest(engine):
    _, [reply] = say(engine, None, "what about worker_connections?")
    assert reply.kind in ("faq", "faq_unsure")
    if reply.kind == "faq_unsure":
        assert "1. " in reply.text and reply.answer is not None and reply.answer.alternatives


@pytest.mark.parametrize("text", ["", "help", "hi", "Hello!", "  "])
def test_help(engine, text):
    state, [reply] = say(engine, None, text)
    assert reply.kind == "help"
    assert "sudo nginx -T 2>&1" in reply.text and "tail -n" in reply.text
    assert state.pastes == []


@pytest.mark.parametrize("text", ["the weather is nice today", "\x00\x01\x02 ### 12 34", "x" * 5000])
def test_nothing_recognisable_says_what_to_paste(engine, text):
    state, [reply] = say(engine, None, text)
    assert reply.kind == "error"
    assert "error.log" in reply.text and "nginx -T" in reply.text
    assert state.pastes == []


# --- caps -------------------------------------------------------------------------------


def test_paste_over_the_cap_is_refused_and_nothing_is_lost(kb, matcher):
    small = ConversationEngine(kb, matcher, max_paste_bytes=2_000, max_thread_bytes=10_000)
    state, _ = say(
        small,
        None,
        ALERT_LOG.splitlines()[0] + "\n" + "2026/11/26 00:46:54 [alert] 12520#12520: "
        "16 worker_connections are not enough\n",
    )
    before = state.to_json()
    big = "\n".join(ALERT_LOG.splitlines() * 2)
    state2, [reply] = say(small, state, big)
    assert reply.kind == "error"
    assert "2,000 bytes" in reply.text and "tail -n 500" in reply.text
    assert f"{len(big.encode()):,} bytes" in reply.text
    assert state2.to_json() == before
    assert state.to_json() == before


def test_thread_over_the_cap_is_refused(kb, matcher):
    small = ConversationEngine(kb, matcher, max_paste_bytes=15_000, max_thread_bytes=15_000)
    state, _ = say(small, None, ALERT_LOG)
    state2, [reply] = say(small, state, ALERT_LOG)
    assert reply.kind == "error" and "thread" in reply.text and "tail -n 500" in reply.text
    assert state2.pastes == state.pastes


def test_upload_over_the_cap(kb, matcher):
    small = ConversationEngine(kb, matcher, max_paste_bytes=1_000)
    _, [reply] = say(small, None, "", (IncomingFile("error.log", ALERT_LOG),))
    assert reply.kind == "error" and "upload" in reply.text


# --- guided mode ------------------------------------------------------------------------


def _fixed(engine) -> ConversationState:
    state, _ = say(engine, None, ALERT_LOG)
    state, _ = say(engine, state, NGINX_T + "\n" + WORKER_LIMITS)
    return state


def test_guide_from_start_to_done(engine):
    state = _fixed(engine)
    state, [step1] = press(engine, restarted(state), "guide_start", "1")
    assert step1.kind == "guide_step" and step1.step is not None
    assert (step1.step.number, step1.step.total, step1.step.kind) == (1, 5, "check")
    assert [b.action_id for b in step1.buttons] == ["guide_done", "guide_paste", "guide_explain"]
    assert {b.value for b in step1.buttons} == {"1"}

    state, [step2] = press(engine, restarted(state), "guide_done", "1")
    assert step2.step is not None and step2.step.kind == "change"
    assert "`/tmp/ngx/nginx.conf:5`" in step2.text
    assert any(a.filename == DIFF_FILE for a in step2.attachments)

    state, [step3] = press(engine, restarted(state), "guide_done", "2")
    assert step3.step is not None and step3.step.kind == "test" and "sudo nginx -t" in step3.text

    state, [prompt] = press(engine, restarted(state), "guide_paste", "3")
    assert "syntax is ok" in prompt.text and restarted(state).awaiting_paste == 3

    state, [wrong] = say(engine, restarted(state), TEST_FAILED)
    assert wrong.kind == "guide_check" and "not passed" in wrong.text
    assert "unknown directive" in wrong.text and "failed" in wrong.text
    assert state.guide_step == 3 and 3 not in state.guide_done

    state, [not_test] = say(engine, restarted(state), WORKER_LIMITS)
    assert not_test.kind == "guide_check" and "not `nginx -t` output" in not_test.text
    assert state.guide_step == 3

    state, [passed, step4] = say(engine, restarted(state), TEST_OK)
    assert passed.kind == "guide_check" and "passed" in passed.text
    assert step4.step is not None and step4.step.kind == "reload"
    assert "reload" in step4.text.lower() and "systemctl reload nginx" in step4.text

    state, [step5] = press(engine, restarted(state), "guide_done", "4")
    assert step5.step is not None and step5.step.kind == "verify"
    assert "1024" in step5.text

    state, [explained] = press(engine, restarted(state), "guide_explain", "5")
    assert explained.kind == "explain" and "master" in explained.text
    assert state.guide_step == 5

    state, [master] = say(engine, restarted(state), MASTER_LIMITS)
    assert master.kind == "guide_check" and "master" in master.text and "not passed" in master.text

    state, [ok, done] = say(engine, restarted(state), WORKER_LIMITS)
    assert ok.kind == "guide_check" and "20000" in ok.text
    assert done.kind == "guide_done"
    assert state.guide_step is None and sorted(state.guide_done) == [1, 2, 3, 4, 5]
    check_limits([step1, step2, step3, prompt, wrong, passed, step4, step5, explained, master, ok, done])


def test_guide_check_step_gathers_missing_evidence(engine):
    state, _ = say(engine, None, ALERT_LOG)
    state, [step1] = press(engine, state, "guide_start")
    assert step1.step is not None and step1.step.title == "Gather the missing evidence"
    assert "sudo nginx -T 2>&1" in step1.text
    state, [partial] = say(engine, state, NGINX_T)
    assert partial.kind == "guide_check" and "Still missing" in partial.text and state.guide_step == 1
    state, [passed, step2] = say(engine, state, WORKER_LIMITS)
    assert "passed" in passed.text
    assert step2.step is not None and step2.step.kind == "change" and "`/tmp/ngx/nginx.conf:5`" in step2.text
    assert len(state.pastes) == 3


def test_verify_rejects_a_worker_below_the_sized_limit(engine):
    state = _fixed(engine)
    state, _ = press(engine, state, "guide_start")
    for n in range(1, 5):
        state, _ = press(engine, state, "guide_done", str(n))
    low = WORKER_LIMITS.replace("20000", "512  ")
    state, [reply] = say(engine, state, low)
    assert "512" in reply.text and "not passed" in reply.text
    ps = (
        "$ ps -o pid,ppid,user,cmd -C nginx\n    PID    PPID USER     CMD\n"
        "  12518       1 root     nginx: master process nginx -c /tmp/ngx/nginx.conf\n"
        "  12520   12518 www-data nginx: worker process\n"
    )
    state, [stale] = say(engine, state, ps)
    assert "not passed" in stale.text and "12520" in stale.text
    state, [fresh, done] = say(engine, state, ps.replace("12520", "13001"))
    assert "new worker" in fresh.text and done.kind == "guide_done"


def test_restart_when_the_master_limit_must_change(engine):
    setrlimit = (
        "2024/03/02 10:11:00 [alert] 2719#2719: setrlimit(RLIMIT_NOFILE, 65535) failed "
        "(1: Operation not permitted)\n2024/03/02 10:11:12 [crit] 2719#2719: accept4() failed "
        "(24: Too many open files)\n"
    )
    conf = NGINX_T.replace("worker_processes 1;", "worker_processes 1;\nworker_rlimit_nofile 65535;").replace(
        "worker_connections 16;", "worker_connections 4096;"
    )
    limits = WORKER_LIMITS.replace("20000                20000", "1024                 4096 ")
    state, _ = say(engine, None, setrlimit)
    state, [reply] = say(engine, state, conf + "\n" + limits)
    assert reply.diagnosis is not None and "restart-needed" in {f.id for f in reply.diagnosis.findings}
    state, _ = press(engine, state, "guide_start")
    for n in range(1, 4):
        state, replies = press(engine, state, "guide_done", str(n))
    [step4] = replies
    assert step4.step is not None and step4.step.title == "Restart nginx"
    assert "restart" in (step4.step.command or "")
    _, [why] = press(engine, state, "guide_explain", "4")
    assert "restart" in why.text.lower()


def test_stale_and_unknown_buttons(engine):
    state = _fixed(engine)
    state, _ = press(engine, state, "guide_start")
    state, _ = press(engine, state, "guide_done", "1")
    state2, [again] = press(engine, state, "guide_done", "1")
    assert again.step is not None and again.step.number == 2 and "not the current one" in again.text
    assert state2.guide_done == state.guide_done
    _, [bad] = press(engine, state, "guide_done", "9")
    assert bad.kind == "error"
    _, [nothing] = press(engine, None, "guide_start")
    assert nothing.kind == "error" and "paste" in nothing.text.lower()
    _, [unknown] = press(engine, state, "launch_rockets")
    assert unknown.kind == "error"


# --- feedback ---------------------------------------------------------------------------


def test_feedback_is_recorded_and_a_human_gets_a_summary(engine):
    state = _fixed(engine)
    state, [thanks] = press(engine, state, "feedback_helpful", "helpful")
    assert thanks.kind == "feedback_thanks"
    state, [thanks2] = press(engine, state, "feedback_not_helpful")
    assert thanks2.kind == "feedback_thanks"
    state, [handoff] = press(engine, restarted(state), "feedback_human")
    assert handoff.kind == "human_handoff"
    assert [f["kind"] for f in state.feedback] == ["helpful", "not_helpful", "human"]
    assert all(f["user"] == "U1" for f in state.feedback)
    assert "worker_connections are not enough" in handoff.text
    assert "/tmp/ngx/nginx.conf:5" in handoff.text
    assert "1 helpful, 1 not helpful" in handoff.text


# --- secrets ----------------------------------------------------------------------------

SECRETS = (
    "hunter2-db-pass",
    "sk_live_51abcdefgh",
    "xoxb-1111111111-2222222222-abcdefghijkl",
    "AKIAIOSFODNN7EXAMPLE",
    "Zm9vOmJhcg-basic",
)


def test_secrets_never_appear_in_replies_attachments_or_state(engine):
    conf = NGINX_T.replace(
        '            proxy_set_header Connection "";',
        '            proxy_set_header Connection "";\n'
        '            proxy_set_header Authorization "Bearer sk_live_51abcdefgh";\n'
        "            set $db_password hunter2-db-pass;\n"
        "            proxy_set_header X-Slack xoxb-1111111111-2222222222-abcdefghijkl;",
    )
    state, _ = say(engine, None, ALERT_LOG + "\nAuthorization: Basic Zm9vOmJhcg-basic\n")
    state, replies = say(engine, state, conf + "\n" + WORKER_LIMITS + "\naws_key AKIAIOSFODNN7EXAMPLE\n")
    all_replies = list(replies)
    assert "I masked 4 secrets" in replies[0].text
    assert "`/tmp/ngx/nginx.conf:5`" in replies[0].text  # redaction kept the line numbers
    for action, value in [
        ("guide_start", "1"),
        ("guide_explain", "1"),
        ("guide_done", "1"),
        ("guide_done", "2"),
        ("feedback_human", ""),
    ]:
        state, more = press(engine, state, action, value)
        all_replies += more
    sent = everything_sent(all_replies)
    stored = state.to_json()
    diagnoses = json.dumps([r.diagnosis.to_json() for r in all_replies if r.diagnosis is not None])
    for secret in SECRETS:
        assert secret not in sent
        assert secret not in stored
        assert secret not in diagnoses
    assert "<redacted>" in stored


def test_engine_never_mutates_the_callers_state(engine):
    state = _fixed(engine)
    snapshot = json.dumps(asdict(state))
    press(engine, state, "guide_start")
    say(engine, state, "x" * 10)
    say(engine, state, ALERT_LOG)
    assert json.dumps(asdict(state)) == snapshot


def test_old_json_without_new_fields_loads(engine):
    state = _fixed(engine)
    data = json.loads(state.to_json())
    data.pop("awaiting_paste")
    data["from_the_future"] = 1
    loaded = ConversationState.from_json(json.dumps(data))
    assert loaded.awaiting_paste is None and loaded.pastes == state.pastes
    _, [reply] = press(engine, loaded, "guide_start")
    assert reply.kind == "guide_step"


def test_long_replies_move_to_attachments(engine):
    many = (
        "\n".join(
            f'2024/03/02 10:11:{i % 60:02d} [error] 27#27: *{i} open() "/var/www/{i}.html" failed '
            f'(2: No such file or directory), client: 10.0.0.{i % 250}, server: s{i}, request: "GET /{i} HTTP/1.1"'
            for i in range(300)
        )
        + "\n"
        + ALERT_LOG
        + "\n"
        + "\n".join(
            f"2024/03/02 10:12:{i:02d} [crit] 27#27: accept4() failed (24: Too many open files)" for i in range(30)
        )
    )
    _, replies = say(engine, None, many)
    check_limits(replies)
    assert replies[0].kind == "diagnosis"
