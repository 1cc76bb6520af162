"""The guided-fix and feedback buttons under the bot's replies (``ACTION_IDS``), and Slack's
own feedback element (``FEEDBACK_ACTION_ID``: 👍/👎 in a ``context_actions`` block)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext

from bot.conversation.model import ACTION_IDS, FEEDBACK_ACTION_ID, FEEDBACK_ELEMENT_ACTIONS
from bot.slack.delivery.jobs import ActionJob, Turn
from bot.slack.listeners.payload import team_of
from bot.slack.triage_bot import triage_of

MAX_VALUE = 2000
"""Slack caps a button value at 2000 characters; anything longer is not ours."""

log = logging.getLogger("nginx_triage.slack.actions")


def engine_action(action: dict[str, Any]) -> tuple[str, str] | None:
    """The engine's ``(action id, value)`` for one clicked element; None when it is not ours.

    A plain button carries its action id itself. Slack's feedback element has one action id
    for both halves and sends the clicked half's ``value``: the bot puts an engine action id
    there, and only the ones the element carries (``FEEDBACK_ELEMENT_ACTIONS``, all in
    ``ACTION_IDS``) are accepted, so a forged value cannot reach another action.
    """
    action_id = str(action.get("action_id") or "")
    value = str(action.get("value") or "")[:MAX_VALUE]
    if action_id == FEEDBACK_ACTION_ID or action.get("type") == "feedback_buttons":
        if action_id == FEEDBACK_ACTION_ID and value in FEEDBACK_ELEMENT_ACTIONS and value in ACTION_IDS:
            return value, value
        return None
    return (action_id, value) if action_id in ACTION_IDS else None


def reply_button_callback(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    """Ack, then (in a worker) mark the clicked buttons as used and post the engine's answer in the thread."""
    ack()
    message: dict[str, Any] = body.get("message") or {}
    container: dict[str, Any] = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message_ts = str(message.get("ts") or container.get("message_ts") or "")
    thread_ts = str(message.get("thread_ts") or container.get("thread_ts") or message_ts)
    if not channel or not thread_ts:
        return  # a click outside a channel message (e.g. the Home tab) has no thread to continue
    mapped = engine_action(action)
    if mapped is None:
        # The value is not logged: it is whatever the sender put there.
        log.warning("a click the bot does not know was ignored: action_id %.40r", action.get("action_id"))
        return
    action_id, value = mapped
    turn = Turn(
        team=team_of(body),
        channel=channel,
        thread_ts=thread_ts,
        user=str((body.get("user") or {}).get("id") or ""),
        surface="action",
        action=action_id,
        action_value=value,
        kind="block_actions",
    )
    blocks = tuple(b for b in message.get("blocks") or () if isinstance(b, dict))
    text = str(message.get("text") or "nginx-triage")
    triage_of(context).submit(ActionJob(turn, message_ts, text, blocks, str(action.get("block_id") or "")))
