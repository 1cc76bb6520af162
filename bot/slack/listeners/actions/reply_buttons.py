"""The guided-fix and feedback buttons under the bot's replies (``ACTION_IDS``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext

from bot.slack.delivery.jobs import ActionJob, Turn
from bot.slack.listeners.payload import team_of
from bot.slack.triage_bot import triage_of

MAX_VALUE = 2000
"""Slack caps a button value at 2000 characters; anything longer is not ours."""


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
    turn = Turn(
        team=team_of(body),
        channel=channel,
        thread_ts=thread_ts,
        user=str((body.get("user") or {}).get("id") or ""),
        surface="action",
        action=str(action.get("action_id") or ""),
        action_value=str(action.get("value") or "")[:MAX_VALUE],
        kind="block_actions",
    )
    blocks = tuple(b for b in message.get("blocks") or () if isinstance(b, dict))
    text = str(message.get("text") or "nginx-triage")
    triage_of(context).submit(ActionJob(turn, message_ts, text, blocks, str(action.get("block_id") or "")))
