"""``block_actions`` for the guided steps and feedback buttons (``ACTION_IDS``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack

from bot.slack.bot import TriageBot
from bot.slack.callbacks.delivery import team_of
from bot.slack.jobs import JobContext, ThreadTarget, describe_turn
from bot.slack.logs import logging_context
from bot.slack.replies import ThreadDestination
from bot.slack.turns import Turn
from bot.slack.webclient import call_slack
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.actions")

MAX_VALUE = 2000
"""Slack caps a button value at 2000 characters; anything longer is not ours."""

FEEDBACK_VALUES = {"feedback_helpful": "helpful", "feedback_not_helpful": "not_helpful", "feedback_human": "human"}
BUTTON_NOTES = {
    "guide_start": "started the guided fix",
    "guide_done": "marked this step done",
    "guide_paste": "will paste the output",
    "guide_explain": "asked for an explanation",
    "feedback_helpful": "found this helpful",
    "feedback_not_helpful": "found this not helpful",
    "feedback_human": "asked for a human",
}


@dataclass(frozen=True)
class ActionJob:
    """A button click: mark the clicked buttons as used, record feedback, run the turn."""

    turn: Turn
    message_ts: str
    message_text: str
    blocks: tuple[dict[str, Any], ...]
    block_id: str

    @property
    def key(self) -> str:
        return self.turn.thread

    @property
    def busy_target(self) -> ThreadTarget:
        return ThreadTarget(self.turn.channel, self.turn.thread_ts)

    def describe(self) -> dict[str, Any]:
        return {**describe_turn(self.turn), "action": self.turn.action}

    def run(self, ctx: JobContext) -> None:
        turn = self.turn
        action_id = turn.action or ""
        with logging_context(thread=turn.thread, channel=turn.channel, action=action_id):
            if self.message_ts and self.blocks:
                _mark_clicked(
                    ctx,
                    turn.channel,
                    self.message_ts,
                    self.message_text,
                    self.blocks,
                    self.block_id,
                    turn.user,
                    action_id,
                )
            if action_id in FEEDBACK_VALUES:
                try:
                    ctx.store.record_feedback(turn.thread, turn.user, FEEDBACK_VALUES[action_id])
                except StoreError as exc:
                    log.error("feedback not recorded: %s", exc)
        ctx.turns.run(turn, ThreadDestination(ctx.client, turn.channel, turn.thread_ts))


def on_block_action(bot: TriageBot, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
    """Ack, then (in a worker) mark the clicked buttons as used and post the engine's answer in the thread."""
    ack()
    message: dict[str, Any] = body.get("message") or {}
    container: dict[str, Any] = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message_ts = str(message.get("ts") or container.get("message_ts") or "")
    thread_ts = str(message.get("thread_ts") or container.get("thread_ts") or message_ts)
    if not channel or not thread_ts:
        return  # a click outside a channel message (e.g. the Home tab) has no thread to continue
    user = str((body.get("user") or {}).get("id") or "")
    action_id = str(action.get("action_id") or "")
    value = str(action.get("value") or "")[:MAX_VALUE]
    turn = Turn(
        team=team_of(body),
        channel=channel,
        thread_ts=thread_ts,
        user=user,
        surface="action",
        action=action_id,
        action_value=value,
        kind="block_actions",
    )
    blocks = tuple(b for b in message.get("blocks") or () if isinstance(b, dict))
    bot.submit(
        ActionJob(
            turn, message_ts, str(message.get("text") or "nginx-triage"), blocks, str(action.get("block_id") or "")
        )
    )


def _mark_clicked(
    ctx: JobContext,
    channel: str,
    ts: str,
    text: str,
    message_blocks: tuple[dict[str, Any], ...],
    block_id: str,
    user: str,
    action_id: str,
) -> None:
    """Replace the clicked buttons with who clicked what, so a step is not clicked twice."""
    blocks: list[dict[str, Any]] = []
    for block in message_blocks:
        if block.get("type") == "actions" and (not block_id or block.get("block_id") == block_id):
            note = f"<@{user}> {BUTTON_NOTES.get(action_id, 'clicked a button')}"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
        else:
            blocks.append(block)
    call_slack("chat.update", ctx.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)
