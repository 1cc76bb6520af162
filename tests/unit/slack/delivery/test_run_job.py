"""``run_job``: what each kind of job does once a worker takes it, with a recording Web API
client, turn handler and store (the turn itself is ``TurnHandler``'s, tested through the
real HTTP front in tests/integration/test_slack_http.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.knowledge.loader import KnowledgeBase
from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import (
    ActionJob,
    CommandJob,
    HomeJob,
    InboxJob,
    ResponseUrlTarget,
    ThreadTarget,
    Turn,
    TurnJob,
)
from bot.slack.delivery.run_job import BUTTON_NOTES, USAGE, run_job, split_subcommand
from bot.slack.replies import FallbackDestination, ResponseUrlDestination, ThreadDestination
from bot.slack.settings import SlackSettings
from bot.store import StoreError
from tests.fakes.bolt_fakes import RecordingClient, RecordingInboxTable, RecordingStore, RecordingTurns
from tests.fakes.fake_slack import BOT_USER, TEAM, FakeSlack

THREAD = "1800000004.000100"


@pytest.fixture
def ctx(kb: KnowledgeBase, fake: FakeSlack) -> JobContext:
    return JobContext(
        settings=SlackSettings(api_url=fake.base_url, api_url_set=True),  # its response_urls are allowed
        client=RecordingClient(),
        store=RecordingStore(),
        kb=kb,
        turns=RecordingTurns(),
        inbox=RecordingInboxTable(),
    )


def turn(**fields: Any) -> Turn:
    base: dict[str, Any] = {"team": TEAM, "channel": "C0TRIAGE", "thread_ts": THREAD, "user": "U0HUMAN1"}
    return Turn(**{**base, "surface": "mention", **fields})


# -- turns -----------------------------------------------------------------------------------------------


def test_a_turn_job_runs_its_turn_into_its_target(ctx: JobContext) -> None:
    run_job(ctx, TurnJob(turn(), ThreadTarget("C0TRIAGE", THREAD)))
    run_job(ctx, TurnJob(turn(surface="message"), ThreadTarget("C0TRIAGE", THREAD), only_known_threads=True))
    (how1, _, dest1), (how2, _, dest2) = ctx.turns.runs
    assert (how1, how2) == ("run", "run_if_known")
    assert isinstance(dest1, ThreadDestination) and (dest1.channel, dest1.thread_ts) == ("C0TRIAGE", THREAD)
    assert isinstance(dest2, ThreadDestination)


def test_a_failing_job_is_logged_never_raised(ctx: JobContext, caplog: pytest.LogCaptureFixture) -> None:
    ctx.turns.claims = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="nginx_triage.slack.jobs"):
        run_job(ctx, TurnJob(turn(), ThreadTarget("C0TRIAGE", THREAD)))  # runs fine: claim is not called here
        run_job(ctx, HomeJob("U0HUMAN1", "EvHome"))  # claim raises a non-store error
    assert [r.getMessage() for r in caplog.records] == ["a turn failed"]


# -- buttons -----------------------------------------------------------------------------------------------

BLOCKS = (
    {"type": "section", "block_id": "answer", "text": {"type": "mrkdwn", "text": "Step 1 of 5"}},
    {"type": "actions", "block_id": "guide", "elements": [{"type": "button", "action_id": "guide_done"}]},
    {"type": "actions", "block_id": "feedback", "elements": [{"type": "button", "action_id": "feedback_helpful"}]},
)


def test_a_click_marks_its_buttons_used_then_runs_the_turn(ctx: JobContext) -> None:
    job = ActionJob(
        turn(surface="action", action="guide_done", action_value="1"), "1800000004.000300", "Step 1", BLOCKS, "guide"
    )
    run_job(ctx, job)
    (update,) = ctx.client.calls_to("chat.update")
    assert (update["channel"], update["ts"], update["text"]) == ("C0TRIAGE", "1800000004.000300", "Step 1")
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<@U0HUMAN1> {BUTTON_NOTES['guide_done']}"}]}
    assert update["blocks"] == [BLOCKS[0], note, BLOCKS[2]]  # only the clicked block is replaced
    assert ctx.store.feedback == []
    ((how, ran, dest),) = ctx.turns.runs
    assert how == "run" and ran == job.turn and isinstance(dest, ThreadDestination) and dest.thread_ts == THREAD


def test_a_feedback_click_is_recorded_even_when_the_store_fails_later(ctx: JobContext) -> None:
    job = ActionJob(turn(surface="action", action="feedback_helpful"), "1800000004.000300", "Answer", BLOCKS, "")
    run_job(ctx, job)
    assert ctx.store.feedback == [(f"{TEAM}:C0TRIAGE:{THREAD}", "U0HUMAN1", "helpful")]
    (update,) = ctx.client.calls_to("chat.update")
    assert [b["type"] for b in update["blocks"]] == ["section", "context", "context"]  # no block id: every row
    ctx.store.fails_with = StoreError("database down")
    run_job(ctx, job)
    assert len(ctx.turns.runs) == 2  # the turn still runs


FEEDBACK_ELEMENT = {
    "type": "feedback_buttons",
    "action_id": "feedback",
    "positive_button": {"text": {"type": "plain_text", "text": "Helpful"}, "value": "feedback_helpful"},
    "negative_button": {"text": {"type": "plain_text", "text": "Not helpful"}, "value": "feedback_not_helpful"},
}
ANSWER_BLOCKS = (
    BLOCKS[0],
    {"type": "actions", "block_id": "walk", "elements": [{"type": "button", "action_id": "guide_start"}]},
    {"type": "context", "block_id": "ask", "elements": [{"type": "mrkdwn", "text": "Did this help?"}]},
    {"type": "context_actions", "block_id": "fb", "elements": [FEEDBACK_ELEMENT]},
)


def test_a_feedback_element_click_replaces_that_block_and_is_recorded(ctx: JobContext) -> None:
    job = ActionJob(
        turn(surface="action", action="feedback_not_helpful", action_value="feedback_not_helpful"),
        "1800000004.000300",
        "Answer",
        ANSWER_BLOCKS,
        "fb",
    )
    run_job(ctx, job)
    assert ctx.store.feedback == [(f"{TEAM}:C0TRIAGE:{THREAD}", "U0HUMAN1", "not_helpful")]
    (update,) = ctx.client.calls_to("chat.update")
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": "<@U0HUMAN1> found this not helpful"}]}
    assert update["blocks"] == [*ANSWER_BLOCKS[:3], note]  # the step button stays clickable
    assert len(ctx.turns.runs) == 1


def test_a_click_without_its_message_only_runs_the_turn(ctx: JobContext) -> None:
    run_job(ctx, ActionJob(turn(surface="action", action="guide_start"), "", "", (), ""))
    assert ctx.client.calls == [] and len(ctx.turns.runs) == 1


# -- the slash command -----------------------------------------------------------------------------------


def command(text: str, response_url: str | None = "https://hooks.slack.com/commands/1") -> CommandJob:
    fields = {"team_id": TEAM, "channel_id": "C0TRIAGE", "user_id": "U0HUMAN1", "text": text, "trigger_id": "1.2.3"}
    return CommandJob(fields, response_url, BOT_USER)


def test_split_subcommand_keeps_the_rest_with_its_newlines() -> None:
    assert split_subcommand("  Diagnose  line 1\nline 2") == ("diagnose", "line 1\nline 2")
    assert split_subcommand("") == ("", "")


def test_diagnose_opens_a_thread_and_answers_there_with_a_private_fallback(ctx: JobContext) -> None:
    run_job(ctx, command(f"diagnose <@{BOT_USER}> 1024 worker_connections are not enough"))
    (opened,) = ctx.client.calls_to("chat.postMessage")
    assert opened["channel"] == "C0TRIAGE" and "<@U0HUMAN1>" in opened["text"]
    ((_, ran, dest),) = ctx.turns.runs
    assert ran.thread_ts == "1900000000.000001" and ran.surface == "command"
    assert ran.text == "1024 worker_connections are not enough"
    assert isinstance(dest, FallbackDestination)


def test_ask_and_help_answer_privately_in_a_one_off_conversation(ctx: JobContext) -> None:
    run_job(ctx, command("ask how many connections can one worker take?"))
    run_job(ctx, command(""))
    (_, asked, dest1), (_, helped, dest2) = ctx.turns.runs
    assert asked.thread_ts == helped.thread_ts == "cmd-1.2.3"
    assert asked.text == "how many connections can one worker take?" and helped.text == "help"
    assert isinstance(dest1, ResponseUrlDestination) and isinstance(dest2, ResponseUrlDestination)
    assert ctx.client.calls == []


def test_an_unknown_subcommand_gets_the_usage_on_the_response_url(ctx: JobContext, fake: FakeSlack) -> None:
    run_job(ctx, command("restart nginx", fake.response_url("usage")))
    run_job(ctx, command("diagnose", fake.response_url("empty")))  # nothing to diagnose
    posted = fake.wait_for(lambda: len(fake.responses) >= 2 and fake.responses, 10, "two usage notes")
    usage_as_sent = USAGE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # mrkdwn escaping
    assert [call.params["text"] for call in posted] == [usage_as_sent, usage_as_sent]
    assert all(call.params.get("response_type") == "ephemeral" for call in posted)
    assert ctx.turns.runs == []


# -- the Home tab ------------------------------------------------------------------------------------------


def test_the_home_view_is_published_once_per_event(ctx: JobContext) -> None:
    run_job(ctx, HomeJob("U0HUMAN1", "EvHome1"))
    (published,) = ctx.client.calls_to("views.publish")
    assert published["user_id"] == "U0HUMAN1" and published["view"]["type"] == "home"
    ctx.turns.claims = False  # a duplicate delivery
    run_job(ctx, HomeJob("U0HUMAN1", "EvHome1"))
    ctx.turns.claims = StoreError("database down")
    run_job(ctx, HomeJob("U0HUMAN1", "EvHome2"))  # dedupe unavailable: views.publish is idempotent
    assert len(ctx.client.calls_to("views.publish")) == 2


# -- inbox items -------------------------------------------------------------------------------------------


def test_an_inbox_item_that_fails_is_recorded_for_a_retry(ctx: JobContext) -> None:
    ctx.turns.claims = RuntimeError("engine exploded")
    run_job(ctx, InboxJob("EvInbox1", "host:1:abc", HomeJob("U0HUMAN1", "EvInbox1")))
    assert ctx.inbox.failed == [("EvInbox1", "host:1:abc", "RuntimeError: engine exploded")]


def test_an_inbox_item_that_runs_records_nothing(ctx: JobContext) -> None:
    job = TurnJob(turn(event_id="EvInbox2"), ResponseUrlTarget(None))
    run_job(ctx, InboxJob("EvInbox2", "host:1:abc", job))
    assert ctx.inbox.failed == [] and len(ctx.turns.runs) == 1
