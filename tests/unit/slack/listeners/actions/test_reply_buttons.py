"""``reply_button_callback``: a click on a guided-fix or feedback button is acked and queued."""

from __future__ import annotations

import logging

import pytest

from bot.slack.delivery.jobs import ActionJob, ThreadTarget
from bot.slack.listeners.actions.reply_buttons import MAX_VALUE, engine_action, reply_button_callback
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


# -- Slack's feedback element ------------------------------------------------------------------------


def feedback_click(value: str, action_id: str = "feedback", kind: str = "feedback_buttons") -> dict[str, object]:
    """A click on one half of the feedback element, as Slack sends it: the element's type and
    action id, the clicked half's value and text."""
    body = click()
    body["actions"] = [
        {
            "type": kind,
            "action_id": action_id,
            "block_id": "fb",
            "value": value,
            "text": {"type": "plain_text", "text": "Helpful"},
            "action_ts": "1800000003.000001",
        }
    ]
    return body


@pytest.mark.parametrize("value", ["feedback_helpful", "feedback_not_helpful"])
def test_a_feedback_element_click_becomes_the_engines_action(value: str) -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    body = feedback_click(value)
    reply_button_callback(ack=ack, body=body, action=body["actions"][0], context=context_for(triage))  # type: ignore[index]
    assert ack.calls == [{}]
    (job,) = triage.submitted
    assert isinstance(job, ActionJob) and job.block_id == "fb"
    assert (job.turn.action, job.turn.action_value, job.turn.kind) == (value, value, "block_actions")


@pytest.mark.parametrize(
    ("value", "action_id", "kind"),
    [
        ("feedback_great", "feedback", "feedback_buttons"),  # not an action id at all
        ("guide_start", "feedback", "feedback_buttons"),  # an action id, but not one the element carries
        ("feedback_human", "feedback", "feedback_buttons"),  # "get a human" is a button, never in the element
        ("", "feedback", "feedback_buttons"),
        ("feedback_helpful", "feedback_other", "feedback_buttons"),  # someone else's feedback element
        ("x", "not_ours", "button"),  # a plain button the bot never posts
    ],
)
def test_a_click_the_bot_never_posted_is_acked_and_refused(
    value: str, action_id: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    body = feedback_click(value, action_id, kind)
    with caplog.at_level(logging.WARNING, logger="nginx_triage.slack.actions"):
        reply_button_callback(ack=ack, body=body, action=body["actions"][0], context=context_for(triage))  # type: ignore[index]
    assert ack.calls == [{}] and triage.submitted == []
    assert [r.getMessage() for r in caplog.records] == [
        f"a click the bot does not know was ignored: action_id {action_id!r}"
    ]
    assert all(value not in r.getMessage() for r in caplog.records if value)  # the sender's value is not logged


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "button", "action_id": "guide_done", "value": "2"}, ("guide_done", "2")),
        (
            {"type": "feedback_buttons", "action_id": "feedback", "value": "feedback_not_helpful"},
            ("feedback_not_helpful",) * 2,
        ),
        ({"type": "button", "action_id": "feedback", "value": "feedback_helpful"}, ("feedback_helpful",) * 2),
        ({"type": "feedback_buttons", "action_id": "guide_done", "value": "feedback_helpful"}, None),
        ({"action_id": "feedback", "value": "guide_done"}, None),
    ],
)
def test_engine_action_maps_only_what_the_bot_posts(action: dict[str, str], expected: tuple[str, str] | None) -> None:
    assert engine_action(action) == expected
