"""Slack's own feedback element (issue 10, item 6): helpful / not helpful render as one
``feedback_buttons`` element in a ``context_actions`` block, "get a human" stays a button, the
validator knows the block's limits, and a trimmed message keeps its notice above the buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block, ContextActionsBlock, FeedbackButtonsElement

from bot.conversation.model import ACTION_IDS, FEEDBACK_ACTION_ID, FEEDBACK_ELEMENT_ACTIONS, Button, Reply
from bot.render import render_reply, validate_message
from bot.render.layout import expand
from bot.render.slack_limits import validate_blocks

HELPFUL = Button("feedback_helpful", "Helpful", "helpful")
NOT_HELPFUL = Button("feedback_not_helpful", "Not helpful", "not_helpful")
HUMAN = Button("feedback_human", "Get a human", "human")
WALK = Button("guide_start", "Walk me through it", "1", "primary")


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == kind]


def test_helpful_and_not_helpful_become_slacks_feedback_element() -> None:
    msg = render_reply(Reply("help", "I read nginx error logs.", buttons=(WALK, HELPFUL, NOT_HELPFUL, HUMAN)))
    assert validate_message(msg) == []
    types = [b["type"] for b in msg.blocks]
    # the step button and "get a human" in one row, then the prompt, then the feedback element, last
    assert types[-3:] == ["actions", "context", "context_actions"]
    (row,) = of_type(msg.blocks, "actions")
    assert [e["action_id"] for e in row["elements"]] == ["guide_start", "feedback_human"]
    assert "Did this help?" in json.dumps(msg.blocks[-2])
    (block,) = of_type(msg.blocks, "context_actions")
    (element,) = block["elements"]
    assert element["type"] == "feedback_buttons" and element["action_id"] == FEEDBACK_ACTION_ID
    positive, negative = element["positive_button"], element["negative_button"]
    # each half sends the engine's action id; its label is the reply's button text
    assert (positive["value"], negative["value"]) == FEEDBACK_ELEMENT_ACTIONS
    assert set(FEEDBACK_ELEMENT_ACTIONS) <= set(ACTION_IDS)
    assert positive["text"] == {"type": "plain_text", "text": "Helpful", "emoji": True}
    assert negative["text"]["text"] == "Not helpful" and negative["accessibility_label"] == "Not helpful"


def test_the_block_is_what_the_installed_slack_sdk_builds() -> None:
    """Cross-check with slack_sdk's own models: it parses our block and writes it back unchanged."""
    msg = render_reply(Reply("help", "Hi", buttons=(HELPFUL, NOT_HELPFUL)))
    (block,) = of_type(msg.blocks, "context_actions")
    parsed = Block.parse(block)
    assert isinstance(parsed, ContextActionsBlock)
    assert isinstance(parsed.elements[0], FeedbackButtonsElement)
    assert parsed.to_dict() == block


def test_only_get_a_human_stays_a_plain_button() -> None:
    """The "not helpful" thanks offers a human only: no feedback element, no prompt."""
    msg = render_reply(Reply("feedback_thanks", "Thanks for saying so.", buttons=(HUMAN,)))
    assert validate_message(msg) == []
    assert of_type(msg.blocks, "context_actions") == []
    assert "Did this help?" not in json.dumps(msg.blocks)
    assert [e["action_id"] for b in of_type(msg.blocks, "actions") for e in b["elements"]] == ["feedback_human"]


def test_a_long_label_is_clipped_and_an_empty_value_refused() -> None:
    item = {
        "type": "feedback",
        "action_id": FEEDBACK_ACTION_ID,
        "positive": {"text": "y" * 100, "value": "feedback_helpful"},
        "negative": {"text": "no", "value": "feedback_not_helpful"},
    }
    (block,) = expand(item)
    label = block["elements"][0]["positive_button"]["text"]["text"]
    assert len(label) == 75 and label.endswith("…")
    assert validate_blocks([block]) == []
    with pytest.raises(ValueError, match="feedback button value"):
        expand({**item, "negative": {"text": "no", "value": ""}})
    with pytest.raises(ValueError, match="feedback action_id"):
        expand({**item, "action_id": "a" * 256})


def test_the_notice_of_a_trimmed_message_stays_above_the_feedback() -> None:
    """A reply too long for one message: the note that the rest is in a file goes above the
    prompt and the feedback element, never under them."""
    text = "\n\n".join(f"Paragraph {i}: " + "words " * 80 for i in range(60))
    msg = render_reply(Reply("help", text, buttons=(HELPFUL, NOT_HELPFUL)))
    assert validate_message(msg) == []
    types = [b["type"] for b in msg.blocks]
    assert types[-3:] == ["context", "context", "context_actions"]
    assert "full details attached as a file" in json.dumps(msg.blocks[-3])
    assert "Did this help?" in json.dumps(msg.blocks[-2])


def feedback_block(**changes: Any) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "feedback_buttons",
        "action_id": "feedback",
        "positive_button": {"text": {"type": "plain_text", "text": "Helpful"}, "value": "feedback_helpful"},
        "negative_button": {"text": {"type": "plain_text", "text": "Not helpful"}, "value": "feedback_not_helpful"},
    }
    element.update(changes)
    return {"type": "context_actions", "elements": [element]}


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"type": "context_actions", "elements": []}, "0 elements, allowed 1-5"),
        ({"type": "context_actions", "elements": feedback_block()["elements"] * 6}, "6 elements, allowed 1-5"),
        (
            {"type": "context_actions", "elements": [{"type": "button", "action_id": "b", "text": {}}]},
            "only feedback_buttons and icon_button",
        ),
        (feedback_block(action_id=""), "action_id: missing or longer than 255"),
        (feedback_block(action_id="a" * 256), "action_id: missing or longer than 255"),
        (
            feedback_block(positive_button={"text": {"type": "plain_text", "text": "y" * 76}, "value": "v"}),
            "positive_button.text: 76 chars > 75",
        ),
        (
            feedback_block(negative_button={"text": {"type": "plain_text", "text": "no"}, "value": "v" * 2001}),
            "negative_button.value: longer than 2000",
        ),
        (
            feedback_block(negative_button={"text": {"type": "plain_text", "text": "no"}}),
            "negative_button.value: required",
        ),
        (
            feedback_block(negative_button={"text": {"type": "mrkdwn", "text": "no"}, "value": "v"}),
            "negative_button.text: must be a text object of type plain_text",
        ),
        (
            feedback_block(
                positive_button={
                    "text": {"type": "plain_text", "text": "y"},
                    "value": "v",
                    "accessibility_label": "l" * 76,
                }
            ),
            "accessibility_label: longer than 75",
        ),
        (feedback_block(positive_button=None), "positive_button: missing"),
        (
            {
                "type": "context_actions",
                "elements": [
                    {
                        "type": "icon_button",
                        "action_id": "d",
                        "icon": "trash",
                        "text": {"type": "plain_text", "text": ""},
                    }
                ],
            },
            "empty text",
        ),
    ],
)
def test_the_validator_knows_context_actions_limits(block: dict[str, Any], problem: str) -> None:
    problems = validate_blocks([block])
    assert any(problem in p for p in problems), problems


def test_a_valid_context_actions_block_passes() -> None:
    icon = {"type": "icon_button", "action_id": "d", "icon": "trash", "text": {"type": "plain_text", "text": "Delete"}}
    assert validate_blocks([feedback_block()]) == []
    assert validate_blocks([{"type": "context_actions", "elements": [*feedback_block()["elements"], icon]}]) == []
