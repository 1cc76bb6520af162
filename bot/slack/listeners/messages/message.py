"""``message``: DMs to the bot, and replies or uploads in threads the bot already takes part in."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest

from bot.slack.delivery.jobs import ThreadTarget, Turn, TurnJob
from bot.slack.listeners.payload import file_refs, is_from_a_bot, retry_num, team_of, user_text
from bot.slack.text import mentions_user
from bot.slack.triage_bot import triage_of

HANDLED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Edits, deletions, joins and bot messages are not turns."""


def message_callback(body: dict[str, Any], event: dict[str, Any], context: BoltContext, request: BoltRequest) -> None:
    """Queue a turn for a DM or a thread reply; channel messages outside our threads are ignored."""
    if event.get("subtype") not in HANDLED_SUBTYPES or is_from_a_bot(event) or not event.get("channel"):
        return
    if not (event.get("thread_ts") or event.get("ts")):  # no thread to answer in
        return
    raw_text = str(event.get("text") or "")
    is_dm = event.get("channel_type") == "im"
    if not is_dm and mentions_user(raw_text, context.bot_user_id):
        return  # the app_mention event for the same message is the one we answer
    thread_ts = event.get("thread_ts")
    if not is_dm and not thread_ts:
        return  # top-level channel chatter is not ours
    channel = str(event["channel"])
    thread_ts = str(thread_ts or event["ts"])
    text, masked = user_text(raw_text, context.bot_user_id)
    turn = Turn(
        team=team_of(body, event),
        channel=channel,
        thread_ts=thread_ts,
        user=str(event.get("user") or ""),
        surface="dm" if is_dm else ("file" if event.get("subtype") == "file_share" else "message"),
        text=text,
        masked=masked,
        files=file_refs(event),
        event_id=body.get("event_id"),
        retry_num=retry_num(request),
        kind="message",
    )
    # In a channel, only threads the bot already has a conversation in (the worker checks the store).
    triage_of(context).submit(TurnJob(turn, ThreadTarget(channel, thread_ts), only_known_threads=not is_dm))
