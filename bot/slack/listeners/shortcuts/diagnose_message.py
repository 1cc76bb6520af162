"""Message shortcut ``diagnose_message``: diagnose the message it was used on, in that message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.slack.delivery.jobs import FallbackTarget, ResponseUrlTarget, ThreadTarget, Turn, TurnJob
from bot.slack.listeners.payload import checked_response_url, file_refs, team_of, user_text
from bot.slack.triage_bot import triage_of

CALLBACK_ID = "diagnose_message"


def diagnose_message_callback(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """Ack, then run the message's text and files through the engine in its thread."""
    ack()
    message: dict[str, Any] = shortcut.get("message") or {}
    channel = str((shortcut.get("channel") or {}).get("id") or "")
    if not channel or not message.get("ts"):
        return
    thread_ts = str(message.get("thread_ts") or message.get("ts"))
    text, masked = user_text(str(message.get("text") or ""), context.bot_user_id)
    turn = Turn(
        team=team_of(shortcut),
        channel=channel,
        thread_ts=thread_ts,
        user=str((shortcut.get("user") or {}).get("id") or ""),
        surface="shortcut",
        text=text,
        masked=masked,
        files=file_refs(message),
        kind="message_action",
    )
    # Not a member of the channel: the user still gets the answer, privately.
    triage = triage_of(context)
    response_url = checked_response_url(respond.response_url or shortcut.get("response_url"), triage.settings)
    target = FallbackTarget(ThreadTarget(channel, thread_ts), ResponseUrlTarget(response_url))
    triage.submit(TurnJob(turn, target))
