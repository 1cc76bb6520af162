"""``diagnose_message_callback``: the message shortcut is acked and the message diagnosed in its thread."""

from __future__ import annotations

from bot.slack.delivery.jobs import FallbackTarget, ResponseUrlTarget, ThreadTarget, TurnJob
from bot.slack.files import FileRef
from bot.slack.listeners.shortcuts.diagnose_message import diagnose_message_callback
from tests.fakes.bolt_fakes import RecordingAck, RecordingRespond, RecordingTriage, context_for
from tests.fakes.fake_slack import TEAM

SHORTCUT = {
    "type": "message_action",
    "callback_id": "diagnose_message",
    "team": {"id": TEAM},
    "user": {"id": "U0HUMAN1"},
    "channel": {"id": "C0TRIAGE"},
    "message": {
        "ts": "1800000003.000200",
        "thread_ts": "1800000003.000100",
        "text": "upstream timed out (110: Connection timed out) while reading response header from upstream",
        "files": [{"id": "F9", "name": "error.log"}],
    },
    "response_url": "https://hooks.slack.com/app/T0001/2/form",
}


def test_the_message_is_diagnosed_in_its_thread_with_a_private_fallback() -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    respond = RecordingRespond(response_url="https://hooks.slack.com/app/T0001/2/bolt")
    diagnose_message_callback(ack=ack, shortcut=SHORTCUT, respond=respond, context=context_for(triage))
    assert ack.calls == [{}]
    (job,) = triage.submitted
    assert isinstance(job, TurnJob)
    assert job.target == FallbackTarget(
        ThreadTarget("C0TRIAGE", "1800000003.000100"), ResponseUrlTarget(respond.response_url)
    )
    turn = job.turn
    assert (turn.surface, turn.kind, turn.user, turn.team) == ("shortcut", "message_action", "U0HUMAN1", TEAM)
    assert turn.text.startswith("upstream timed out") and turn.files == (FileRef("F9", "error.log"),)


def test_a_shortcut_without_a_channel_or_message_is_acked_and_dropped() -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    diagnose_message_callback(
        ack=ack, shortcut={**SHORTCUT, "channel": {}}, respond=RecordingRespond(), context=context_for(triage)
    )
    assert ack.calls == [{}] and triage.submitted == []
