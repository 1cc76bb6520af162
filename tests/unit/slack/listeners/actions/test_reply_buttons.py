"""``reply_button_callback``: a click on a guided-fix or feedback button is acked and queued."""

from __future__ import annotations

from bot.slack.delivery.jobs import ActionJob, ThreadTarget
from bot.slack.listeners.actions.reply_buttons import MAX_VALUE, reply_button_callback
from tests.fakes.bolt_fakes import RecordingAck, RecordingTriage, context_for
from tests.fakes.fake_slack import BOT_USER, TEAM

BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Step 1 of 5"}},
    {"type": "actions", "block_id": "guide", "elements": [{"type": "button", "action_id": "guide_done"}]},
]


def click(action_id: str = "guide_done", value: str = "1", **body_extra: object) -> dict[str, object]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U0HUMAN1", "team_id": TEAM},
        "channel": {"id": "C0TRIAGE"},
        "container": {"type": "message", "message_ts": "1800000002.000300", "channel_id": "C0TRIAGE"},
        "message": {
            "ts": "1800000002.000300",
            "thread_ts": "1800000002.000100",
            "user": BOT_USER,
            "text": "Step 1 of 5",
            "blocks": [*BLOCKS, "not a block"],
        },
        "actions": [{"action_id": action_id, "block_id": "guide", "value": value}],
        **body_extra,
    }


def test_a_click_is_acked_and_queued_with_the_message_it_came_from() -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    body = click()
    reply_button_callback(ack=ack, body=body, action=body["actions"][0], context=context_for(triage))
    assert ack.calls == [{}]
    (job,) = triage.submitted
    assert isinstance(job, ActionJob)
    assert (job.message_ts, job.message_text, job.block_id) == ("1800000002.000300", "Step 1 of 5", "guide")
    assert job.blocks == tuple(BLOCKS)  # only the dict blocks
    turn = job.turn
    assert (turn.channel, turn.thread_ts, turn.user, turn.team) == ("C0TRIAGE", "1800000002.000100", "U0HUMAN1", TEAM)
    assert (turn.surface, turn.kind, turn.action, turn.action_value) == ("action", "block_actions", "guide_done", "1")
    assert job.busy_target == ThreadTarget("C0TRIAGE", "1800000002.000100")


def test_an_oversized_value_is_cut_at_slacks_limit() -> None:
    triage = RecordingTriage()
    body = click(value="x" * (MAX_VALUE + 50))
    reply_button_callback(ack=RecordingAck(), body=body, action=body["actions"][0], context=context_for(triage))
    (job,) = triage.submitted
    assert isinstance(job, ActionJob) and job.turn.action_value == "x" * MAX_VALUE


def test_a_click_outside_a_channel_message_is_acked_and_dropped() -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    body = {"type": "block_actions", "user": {"id": "U0HUMAN1"}, "container": {"type": "view"}}
    reply_button_callback(ack=ack, body=body, action={"action_id": "guide_done"}, context=context_for(triage))
    assert ack.calls == [{}] and triage.submitted == []
