"""``app_mention_callback``: called as Bolt calls it, with fakes; it queues one turn for the thread."""

from __future__ import annotations

import pytest
from slack_bolt import BoltContext

from bot.slack.delivery.jobs import ThreadTarget, TurnJob
from bot.slack.files import FileRef
from bot.slack.listeners.events.app_mention import app_mention_callback
from tests.fakes.bolt_fakes import RecordingTriage, context_for, request_with
from tests.fakes.fake_slack import BOT_ID, BOT_USER, TEAM

LINE = "2024/05/01 10:00:00 [alert] 12#12: *3 1024 worker_connections are not enough"


def mention_event(text: str, **extra: object) -> dict[str, object]:
    return {
        "type": "app_mention",
        "user": "U0HUMAN1",
        "text": text,
        "ts": "1800000000.000100",
        "channel": "C0TRIAGE",
        **extra,
    }


def test_a_mention_queues_a_turn_in_its_own_thread() -> None:
    triage = RecordingTriage()
    event = mention_event(f"<@{BOT_USER}> help &lt;{LINE}&gt;", files=[{"id": "F1", "name": "error.log"}])
    app_mention_callback(
        body={"team_id": TEAM, "event_id": "Ev1", "event": event},
        event=event,
        context=context_for(triage),
        request=request_with({"X-Slack-Retry-Num": "2"}),
    )
    (job,) = triage.submitted
    assert isinstance(job, TurnJob)
    assert job.target == ThreadTarget("C0TRIAGE", "1800000000.000100")
    assert job.only_known_threads is False
    turn = job.turn
    assert (turn.team, turn.channel, turn.thread_ts, turn.user) == (TEAM, "C0TRIAGE", "1800000000.000100", "U0HUMAN1")
    assert turn.text == f"help <{LINE}>"  # the bot mention gone, Slack's escaping undone
    assert turn.files == (FileRef("F1", "error.log"),)
    assert (turn.surface, turn.kind, turn.event_id, turn.retry_num) == ("mention", "app_mention", "Ev1", "2")


def test_a_mention_inside_a_thread_answers_in_that_thread() -> None:
    triage = RecordingTriage()
    event = mention_event(f"<@{BOT_USER}> and now?", thread_ts="1800000000.000001")
    app_mention_callback(body={"team_id": TEAM}, event=event, context=context_for(triage), request=request_with())
    (job,) = triage.submitted
    assert isinstance(job, TurnJob) and job.target == ThreadTarget("C0TRIAGE", "1800000000.000001")
    assert job.turn.retry_num is None and job.turn.event_id is None


@pytest.mark.parametrize("extra", [{"bot_id": BOT_ID}, {"subtype": "bot_message"}, {"channel": ""}])
def test_bots_and_channel_less_events_queue_nothing(extra: dict[str, object]) -> None:
    triage = RecordingTriage()
    event = mention_event(f"<@{BOT_USER}> {LINE}", **extra)
    app_mention_callback(body={"team_id": TEAM}, event=event, context=context_for(triage), request=request_with())
    assert triage.submitted == []


def test_without_the_bot_in_context_it_says_how_the_app_must_be_built() -> None:
    event = mention_event(f"<@{BOT_USER}> {LINE}")
    with pytest.raises(LookupError, match="build_app"):
        app_mention_callback(body={}, event=event, context=BoltContext({}), request=request_with())
