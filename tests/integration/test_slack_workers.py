"""Turn worker processes (``bot.slack.delivery.process_runner``): a crashed worker is restarted and its turn
logged; a full queue refuses at once with a "busy" reply; SIGTERM drains the queues. Real
spawned workers, a SQLite store, the fake Slack on 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

from bot.conversation.read_cache import READS_BOUND
from bot.evidence.redaction import CLEAN_BOUND
from bot.knowledge.loader import KnowledgeBase
from bot.slack.delivery.jobs import ThreadTarget, Turn, TurnJob
from bot.slack.delivery.process_runner import ProcessRunner, route
from bot.slack.logs import JsonFormatter
from bot.slack.metrics import REGISTRY
from bot.slack.triage_bot import BUSY, WORKING, create_bot
from bot.store import Store
from tests.fakes.fake_slack import BOT_TOKEN, TEAM, FakeSlack, event_body, sign
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, USER, mention, settings_for
from tests.integration.test_slack_http import ALERT, WAIT_S, replies


def turn_job(root: str, event_id: str) -> TurnJob:
    turn = Turn(
        team=TEAM,
        channel=CHANNEL,
        thread_ts=root,
        user=USER,
        surface="mention",
        text=ALERT,
        event_id=event_id,
        kind="app_mention",
    )
    return TurnJob(turn, ThreadTarget(CHANNEL, root))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_routing_is_stable_and_spreads_threads() -> None:
    keys = [f"{TEAM}:{CHANNEL}:18000004{i:02d}.000100" for i in range(40)]
    assert [route(k, 3) for k in keys] == [route(k, 3) for k in keys]
    assert {route(k, 3) for k in keys} == {0, 1, 2}
    assert route(None, 3) is None


class JsonLines(logging.Handler):
    """Log lines as ``serve`` writes them (with the thread context), for assertions."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, object]] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_a_killed_worker_is_restarted_and_its_turn_logged(fake: FakeSlack, tmp_path: Path) -> None:
    captured = JsonLines()
    workers_log = logging.getLogger("nginx_triage.slack.workers")
    workers_log.addHandler(captured)
    workers_log.setLevel(logging.INFO)
    settings = replace(settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"), workers=1, worker_threads=1)
    runner = ProcessRunner(settings).start()
    try:
        assert runner.wait_ready(60)
        restarts, lost = sample("nginx_triage_worker_restarts_total"), sample("nginx_triage_turns_lost_total")
        # Slack makes the worker wait (429, Retry-After 5) while it posts: kill it right then.
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=5)
        assert runner.submit(turn_job("1800000400.000100", "EvCrash1"))
        fake.wait_for(lambda: fake.calls_to("chat.postMessage"), WAIT_S, "the rate-limited post")
        pid = runner.worker_pids()[0]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert runner.wait_idle(WAIT_S)  # the lost turn no longer counts as pending
        assert runner.wait_ready(60)
        assert runner.worker_pids()[0] not in (None, pid)
        assert sample("nginx_triage_worker_restarts_total") == restarts + 1
        assert sample("nginx_triage_turns_lost_total") == lost + 1
        lost_lines = [line for line in captured.lines if str(line["msg"]).startswith("turn lost")]
        assert len(lost_lines) == 1
        assert lost_lines[0]["thread"] == f"{TEAM}:{CHANNEL}:1800000400.000100"
        assert lost_lines[0]["event_id"] == "EvCrash1" and lost_lines[0]["exit_code"] == -signal.SIGKILL
        # The restarted worker takes new turns.
        assert runner.submit(turn_job("1800000400.000200", "EvCrash2"))
        replies(fake, "1800000400.000200", 1)
        assert runner.wait_idle(WAIT_S)
        assert sample("nginx_triage_replies_sent_total") >= 1  # counted by the worker, reported to us
    finally:
        workers_log.removeHandler(captured)
        assert runner.shutdown(20)


def test_a_full_queue_defers_to_the_inbox_and_every_turn_is_answered(
    fake: FakeSlack, kb: KnowledgeBase, tmp_path: Path
) -> None:
    settings = replace(
        settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"),
        workers=1,
        worker_threads=1,
        queue_size=2,
        inbox_poll_s=0.3,
        working_note_s=1.0,
    )
    runner = ProcessRunner(settings).start()
    store = Store(settings.database_url)
    bot = create_bot(settings, store=store, kb=kb, runner=runner)
    assert bot.inbox is not None  # on by default, with SQLite too
    bot.inbox.start()
    try:
        assert runner.wait_ready(60)
        deferred = sample("nginx_triage_turns_deferred_total")
        rejected = sample("nginx_triage_turns_rejected_total", reason="queue_full")
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=3)  # keeps the first turn busy
        roots = [f"1800000401.{i:06d}" for i in range(1, 5)]
        assert bot.submit(turn_job(roots[0], "EvFull0"))
        fake.wait_for(lambda: fake.calls_to("chat.postMessage"), WAIT_S, "the first turn's post (held by a 429)")
        started = time.monotonic()
        accepted = [bot.submit(turn_job(root, f"EvFull{i}")) for i, root in enumerate(roots[1:], 1)]
        assert time.monotonic() - started < 2.0  # never waits for room
        assert accepted == [True, True, True]
        assert sample("nginx_triage_turns_deferred_total") == deferred + 2
        assert sample("nginx_triage_turns_rejected_total", reason="queue_full") == rejected
        for root in roots:
            answer = replies(fake, root, 2 if root in roots[2:] else 1)
            assert all(BUSY not in m.text for m in answer)
            if root in roots[2:]:  # waited over working_note_s: a short note first, then the answer
                assert WORKING in answer[0].text
                assert "worker_connections are not enough" in json.dumps(answer[1].blocks)
            else:
                assert "worker_connections are not enough" in json.dumps(answer[0].blocks)
                assert all(WORKING not in m.text for m in answer)
    finally:
        assert bot.shutdown(20)
        store.close()


def test_without_the_inbox_a_full_queue_refuses_at_once_and_says_busy(
    fake: FakeSlack, kb: KnowledgeBase, tmp_path: Path
) -> None:
    settings = replace(
        settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"), workers=1, worker_threads=1, queue_size=2
    )
    runner = ProcessRunner(settings).start()
    store = Store(settings.database_url)
    bot = create_bot(settings, store=store, kb=kb, runner=runner, durable=False)
    try:
        assert runner.wait_ready(60)
        rejected = sample("nginx_triage_turns_rejected_total", reason="queue_full")
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=3)  # keeps the first turn busy
        roots = [f"1800000402.{i:06d}" for i in range(1, 5)]
        assert bot.submit(turn_job(roots[0], "EvFullOff0"))
        fake.wait_for(lambda: fake.calls_to("chat.postMessage"), WAIT_S, "the first turn's post (held by a 429)")
        accepted = [bot.submit(turn_job(root, f"EvFullOff{i}")) for i, root in enumerate(roots[1:], 1)]
        assert accepted == [True, False, False]
        assert sample("nginx_triage_turns_rejected_total", reason="queue_full") == rejected + 2
        for root in roots[2:]:
            assert BUSY in replies(fake, root, 1, "the busy note")[0].text
    finally:
        assert bot.shutdown(20)
        store.close()


def test_sigterm_drains_queued_turns_before_exiting(fake: FakeSlack, tmp_path: Path) -> None:
    serve = ServeProcess.start(
        http_env(fake, f"sqlite:///{tmp_path / 'bot.db'}", NGINX_TRIAGE_WORKERS="1", NGINX_TRIAGE_WORKER_THREADS="1"),
        tmp_path,
    )
    try:
        serve.wait_ready(60)
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=2)  # so turns are still queued at SIGTERM
        roots = [f"1800000402.{i:06d}" for i in range(1, 6)]
        for i, root in enumerate(roots):
            body = event_body(mention(ALERT, root), f"EvDrain{i}")
            conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
            conn.request(
                "POST", "/slack/events", body=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
            )
            assert conn.getresponse().status == 200
        assert serve.terminate(timeout=40) == 0
        for root in roots:  # every acked event was answered before the process exited
            assert len(fake.thread_messages(CHANNEL, root)) == 1, root
    finally:
        serve.stop()
    lines = serve.log_lines()
    assert any(line["msg"] == "stopped" for line in lines)
    assert any(line.get("worker") == 0 and line["msg"] == "turn worker ready" for line in lines)
    assert BOT_TOKEN not in serve.log_text()


def _replaced_reason(runner: ProcessRunner, deadline_s: float) -> str:
    """Poll /readyz's worker check (bounded) until it says a worker is being replaced."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        why = runner.why_not_ready() or ""
        if "replaced" in why:
            return why
        time.sleep(0.02)
    return ""


def test_a_turn_over_the_memory_budget_replaces_its_worker_and_is_answered_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    # A 1 MB budget: any running turn is over it. The 429 keeps the turn running long enough
    # for the worker's memory watch to see it.
    settings = replace(
        settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"), workers=1, worker_threads=1, worker_memory_mb=1
    )
    runner = ProcessRunner(settings).start()
    told: list[tuple[str, str, str]] = []
    finished: list[tuple[str, bool]] = []
    runner.set_budget_listener(lambda job, budget, what: told.append((job.describe()["event_id"], budget, what)))
    runner.set_finish_listener(lambda job, ran: finished.append((job.describe()["event_id"], ran)))
    try:
        assert runner.wait_ready(60)
        replaced = sample("nginx_triage_workers_replaced_total", budget="memory")
        pid = runner.worker_pids()[0]
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=5)
        assert runner.submit(turn_job("1800000403.000100", "EvMemory1"))
        why = _replaced_reason(runner, WAIT_S)
        assert why.startswith("worker 0 replaced: ") and "over the 1 MB budget" in why
        assert runner.wait_idle(WAIT_S) and runner.wait_ready(60)
        assert runner.why_not_ready() is None  # ready again once the successor is up
        assert runner.worker_pids()[0] not in (None, pid)
        assert [(e, b) for e, b, _ in told] == [("EvMemory1", "memory")]
        assert finished == [("EvMemory1", True)]  # done: answered by the note, never retried
        assert sample("nginx_triage_workers_replaced_total", budget="memory") == replaced + 1
    finally:
        assert runner.shutdown(20)


def test_a_turn_past_the_hard_time_limit_is_stopped_and_the_user_told(fake: FakeSlack, tmp_path: Path) -> None:
    """Through ``serve`` over signed HTTP: the stuck turn's worker is killed and replaced, the
    thread gets the budget note (once), and the next paste is answered as usual."""
    serve = ServeProcess.start(
        http_env(
            fake,
            f"sqlite:///{tmp_path / 'bot.db'}",
            NGINX_TRIAGE_WORKERS="1",
            NGINX_TRIAGE_WORKER_THREADS="1",
            NGINX_TRIAGE_TURN_HARD_S="1.5",
        ),
        tmp_path,
    )
    try:
        serve.wait_ready(60)
        fake.rate_limit_next("chat.postMessage", times=1, retry_after=8)  # the turn waits past 1.5 s

        def post(root: str, event_id: str) -> None:
            body = event_body(mention(ALERT, root), event_id)
            conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
            conn.request(
                "POST", "/slack/events", body=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
            )
            assert conn.getresponse().status == 200

        post("1800000404.000100", "EvSlow1")
        seen_unready = ""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not seen_unready:
            status, body = serve.get("/readyz")
            if status == 503 and "replaced" in body:
                seen_unready = body
            time.sleep(0.05)
        assert "a turn ran past 1.5 s" in seen_unready
        (note,) = replies(fake, "1800000404.000100", 1, "the budget note")
        assert "I stopped reading this paste" in note.text and "a turn ran past 1.5 s" in note.text
        serve.wait_ready(60)
        post("1800000404.000200", "EvSlow2")
        assert "worker_connections are not enough" in json.dumps(replies(fake, "1800000404.000200", 1)[0].blocks)
        time.sleep(1.0)  # nothing else arrives in the first thread: the stopped turn is not retried
        assert len(fake.thread_messages(CHANNEL, "1800000404.000100")) == 1
    finally:
        serve.stop()
    assert any(line.get("budget") == "time" for line in serve.log_lines())


def test_the_workers_caches_show_their_size_and_bound_in_metrics(fake: FakeSlack, tmp_path: Path) -> None:
    """The engine's caches live in the worker processes; each finished job reports their sizes,
    so /metrics shows every long-lived cache with its bound (issue 13, item 5)."""
    settings = replace(settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"), workers=1, worker_threads=1)
    runner = ProcessRunner(settings).start()
    try:
        assert runner.wait_ready(60)
        assert runner.submit(turn_job("1800000405.000100", "EvSizes1"))
        replies(fake, "1800000405.000100", 1)
        assert runner.wait_idle(WAIT_S)
        assert sample("nginx_triage_structure_items", structure="matcher_heads_w0") >= 1
        assert sample("nginx_triage_structure_bound", structure="matcher_heads_w0") == 4096
        assert sample("nginx_triage_structure_bound", structure="matcher_fuzzy_w0") == 4096
        # what the thread's pastes were read into, kept for its next turn, and the redaction memo
        assert sample("nginx_triage_structure_items", structure="thread_reads_w0") == 1
        assert sample("nginx_triage_structure_bound", structure="thread_reads_w0") == READS_BOUND
        assert sample("nginx_triage_structure_bound", structure="redaction_clean_w0") == CLEAN_BOUND
    finally:
        assert runner.shutdown(20)
