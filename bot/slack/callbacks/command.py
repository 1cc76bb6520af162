"""``/nginx-triage diagnose|ask|help``: ack at once with an ephemeral "working…", then answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.slack.bot import TriageBot
from bot.slack.jobs import JobContext, ResponseUrlTarget, Target
from bot.slack.replies import Destination, FallbackDestination, ThreadDestination
from bot.slack.text import clean_text
from bot.slack.turns import Turn, error_reply
from bot.slack.webclient import call_slack

SUBCOMMANDS = ("diagnose", "ask", "help")
USAGE = (
    "Usage: `/nginx-triage diagnose <pasted log lines, nginx -T or limits>`, "
    "`/nginx-triage ask <question about nginx>`, or `/nginx-triage help`. "
    "For a longer conversation, mention me in a thread with the alert."
)
WORKING = "Working on it…"

_SPLIT_RE = re.compile(r"\s+", re.S)


def split_subcommand(text: str) -> tuple[str, str]:
    """``"diagnose  lines…"`` -> ``("diagnose", "lines…")``; the rest keeps its newlines."""
    parts = _SPLIT_RE.split(text.strip(), maxsplit=1)
    sub = parts[0].lower() if parts and parts[0] else ""
    return sub, parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class CommandJob:
    """A slash command to answer after the ack (picklable: the command's form fields and its response_url)."""

    command: dict[str, str]
    response_url: str | None
    bot_user_id: str | None

    @property
    def key(self) -> None:
        return None  # ``diagnose`` opens a new thread; nothing to order against

    @property
    def busy_target(self) -> Target:
        return ResponseUrlTarget(self.response_url)

    def describe(self) -> dict[str, Any]:
        return {"kind": "command", "channel": self.command.get("channel_id")}

    def run(self, ctx: JobContext) -> None:
        answer_command(ctx, self.command, self.response_url, self.bot_user_id)


def on_command(bot: TriageBot, ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """Ack within Slack's 3 s with an ephemeral note, then answer from a worker."""
    ack(text=WORKING, response_type="ephemeral")
    fields = {str(k): str(v) for k, v in command.items() if isinstance(v, str | int | float | bool)}
    response_url = respond.response_url or fields.get("response_url")
    bot.submit(CommandJob(fields, response_url or None, context.bot_user_id))


def answer_command(ctx: JobContext, command: dict[str, str], response_url: str | None, bot_user_id: str | None) -> None:
    """Run the subcommand; ``diagnose`` opens a thread in the channel so the conversation can go on."""
    sub, rest = split_subcommand(str(command.get("text") or ""))
    team = str(command.get("team_id") or "T0")
    channel = str(command.get("channel_id") or "")
    user = str(command.get("user_id") or "")
    private: Destination = ResponseUrlTarget(response_url).open(ctx.client)
    one_off = f"cmd-{command.get('trigger_id') or 'none'}"
    text = clean_text(rest, bot_user_id)
    if sub in ("", "help"):
        sub, text = "help", "help"
    if sub not in SUBCOMMANDS or (sub in ("diagnose", "ask") and not text):
        private.post(error_reply(USAGE))
        return
    if sub == "diagnose":
        ts = _open_thread(ctx, channel, user)
        if ts:
            thread = ThreadDestination(ctx.client, channel, ts)
            turn = Turn(
                team=team, channel=channel, thread_ts=ts, user=user, surface="command", text=text, kind="command"
            )
            ctx.turns.run(turn, FallbackDestination(thread, private))
            return
    turn = Turn(team=team, channel=channel, thread_ts=one_off, user=user, surface="command", text=text, kind="command")
    ctx.turns.run(turn, private)


def _open_thread(ctx: JobContext, channel: str, user: str) -> str | None:
    """A top-level message that the diagnosis goes under; None when the bot cannot post here."""
    result = call_slack(
        "chat.postMessage",
        ctx.client.chat_postMessage,
        channel=channel,
        text=f"<@{user}> asked me to diagnose a paste (`/nginx-triage diagnose`). "
        "My findings are in this thread; reply here with more evidence.",
    )
    return str(result["ts"]) if result is not None and result.get("ts") else None
