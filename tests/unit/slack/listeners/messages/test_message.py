"""``message_callback``: DMs and thread replies queue a turn; everything else in a channel does not."""

from __future__ import annotations

import pytest

from bot.slack.delivery.jobs import ThreadTarget, TurnJob
from bot.slack.files import FileRef
from bot.slack.listeners.messages.message import message_callback
from tests.fakes.bolt_fakes import RecordingTriage, context_for, request_with
from tests.fakes.fake_slack import BOT_USER, TEAM


def message(text: str, **extra: object) -> dict[str, object]:
    return {"type": "message", "user": "U0HUMAN1", "text": text, "ts": "1800000001.000200", **extra}


def deliver(event: dict[str, object]) -> list[object]:
    triage = RecordingTriage()
    message_callback(
        body={"team_id": TEAM, "event_id": "EvMsg"}, event=event, context=context_for(triage), request=request_with()
    )
    return list(triage.submitted)


def test_a_dm_is_a_turn_answered_in_the_dm() -> None:
    (job,) = deliver(message("nginx -T output", channel="D0DM", channel_type="im"))
    assert isinstance(job, TurnJob)
    assert job.target == ThreadTarget("D0DM", "1800000001.000200") and job.only_known_threads is False
    assert (job.turn.surface, job.turn.kind, job.turn.event_id) == ("dm", "message", "EvMsg")


def test_a_thread_reply_in_a_channel_is_answered_only_in_threads_the_bot_knows() -> None:
    (job,) = deliver(message("more", channel="C0TRIAGE", channel_type="channel", thread_ts="1800000001.000001"))
    assert isinstance(job, TurnJob) and job.only_known_threads is True
    assert job.target == ThreadTarget("C0TRIAGE", "1800000001.000001")
    assert job.busy_target is None  # no "busy" note in a thread the bot may not be part of
    assert job.turn.surface == "message"


def test_a_file_share_in_a_thread_carries_its_files() -> None:
    files = [{"id": "F1", "name": "worker-limits.txt"}, {"name": "no id"}]
    (job,) = deliver(message("", channel="C0TRIAGE", thread_ts="1800000001.000001", subtype="file_share", files=files))
    assert isinstance(job, TurnJob)
    assert job.turn.surface == "file" and job.turn.files == (FileRef("F1", "worker-limits.txt"),)


@pytest.mark.parametrize(
    "event",
    [
        message("chatter", channel="C0TRIAGE", channel_type="channel"),  # top level: not ours
        message(f"<@{BOT_USER}> look", channel="C0TRIAGE", thread_ts="1.1"),  # the app_mention answers it
        message("edited", channel="C0TRIAGE", thread_ts="1.1", subtype="message_changed"),
        message("from a bot", channel="C0TRIAGE", thread_ts="1.1", bot_id="B0OTHER"),
        message("no channel"),
    ],
    ids=["top-level", "mentions-the-bot", "edit", "bot", "no-channel"],
)
def test_other_messages_queue_nothing(event: dict[str, object]) -> None:
    assert deliver(event) == []
