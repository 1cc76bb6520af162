"""``app_mention``: someone mentions the bot, usually with a pasted alert. Reply in its thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest

from bot.slack.delivery.jobs import ThreadTarget, Turn, TurnJob
from bot.slack.listeners.payload import file_refs, is_from_a_bot, retry_num, team_of, user_text
from bot.slack.triage_bot import triage_of


def app_mention_callback(
    body: dict[str, Any], event: dict[str, Any], context: BoltContext, request: BoltRequest
) -> None:
    """Queue a turn for the mention's thread."""
    if is_from_a_bot(event) or not event.get("channel") or not (event.get("thread_ts") or event.get("ts")):
        return
    channel = str(event["channel"])
    thread_ts = str(event.get("thread_ts") or event["ts"])
    text, masked = user_text(str(event.get("text") or ""), context.bot_user_id)
    turn = Turn(
        team=team_of(body, event),
        channel=channel,
        thread_ts=thread_ts,
        user=str(event.get("user") or ""),
        surface="mention",
        text=text,
        masked=masked,
        files=file_refs(event),
        event_id=body.get("event_id"),
        retry_num=retry_num(request),
        kind="app_mention",
    )
    triage_of(context).submit(TurnJob(turn, ThreadTarget(channel, thread_ts)))
