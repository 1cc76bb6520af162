"""What each kind of job does once a worker takes it (after the ack, off the acking thread).

``run_job`` is the one entry the runners call; it picks the work by the job's type, so a
new kind in ``bot.slack.delivery.jobs`` without a case here fails ``mypy`` (``assert_never``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, assert_never

from bot.lazy_re import lazy_compile
from bot.render.home import home_view
from bot.slack.delivery.destinations import open_target
from bot.slack.delivery.inbox import count_given_up, settle
from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import ActionJob, CommandJob, HomeJob, InboxJob, Job, ResponseUrlTarget, Turn, TurnJob
from bot.slack.delivery.turn_handler import deduplicated_by_inbox, error_reply
from bot.slack.logs import logging_context
from bot.slack.replies import (
    Destination,
    FallbackDestination,
    ThreadDestination,
    idempotent_replies,
    opener_key,
)
from bot.slack.text import clean_text
from bot.slack.webclient import call_slack
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.jobs")
actions_log = logging.getLogger("nginx_triage.slack.actions")
home_log = logging.getLogger("nginx_triage.slack.home")
inbox_log = logging.getLogger("nginx_triage.slack.inbox")


def run_job(ctx: JobContext, job: Job) -> None:
    """Run one job; any exception ends in a log line, never in the caller."""
    try:
        run(ctx, job)
    except Exception:
        with logging_context(**job.describe()):
            log.exception("a turn failed")


def run(ctx: JobContext, job: Job) -> None:
    """Do the job's work; exceptions propagate."""
    match job:
        case TurnJob():
            run_turn(ctx, job)
        case ActionJob():
            run_action(ctx, job)
        case CommandJob():
            answer_command(ctx, job.command, job.response_url, job.bot_user_id, job.masked)
        case HomeJob():
            publish_home(ctx, job)
        case InboxJob():
            run_inbox_item(ctx, job)
        case _:
            assert_never(job)


def run_turn(ctx: JobContext, job: TurnJob) -> None:
    """A mention, DM, thread reply or shortcut: the turn, replies to its target."""
    dest = open_target(job.target, ctx.client)
    if job.only_known_threads:
        ctx.turns.run_if_known(job.turn, dest)
    else:
        ctx.turns.run(job.turn, dest)


def run_inbox_item(ctx: JobContext, item: InboxJob) -> None:
    """Run a job from the durable inbox; a failure is recorded so the item is retried (bounded).

    Success is recorded by the serving process (``Inbox.finished``), not here: on SQLite one
    writer for the inbox file keeps the ack path's INSERTs from waiting on workers' UPDATEs.
    After a failure the lease is released, so that ``complete`` finds nothing.
    """
    with deduplicated_by_inbox(item.event_id), idempotent_replies(item.event_id, check=item.recovered):
        try:
            run(ctx, item.job)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            with logging_context(**item.describe()):
                inbox_log.exception("a turn from the inbox failed; it will be retried")
                inbox = ctx.inbox
                if inbox is None:
                    inbox_log.error("no inbox table here: the failure is not recorded; the lease expires instead")
                    return
                settle("recording the failure", lambda: count_given_up(inbox.fail(item.event_id, item.owner, error)))


# -- buttons ------------------------------------------------------------------------------------------

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


def run_action(ctx: JobContext, job: ActionJob) -> None:
    """Mark the clicked buttons as used, record feedback clicks, then run the click as a turn."""
    turn = job.turn
    action_id = turn.action or ""
    with logging_context(thread=turn.thread, channel=turn.channel, action=action_id):
        if job.message_ts and job.blocks:
            mark_clicked(ctx, job, action_id)
        if action_id in FEEDBACK_VALUES:
            try:
                ctx.store.record_feedback(turn.thread, turn.user, FEEDBACK_VALUES[action_id])
            except StoreError as exc:
                actions_log.error("feedback not recorded: %s", exc)
    ctx.turns.run(turn, ThreadDestination(ctx.client, turn.channel, turn.thread_ts))


_BUTTON_BLOCKS = ("actions", "context_actions")
"""Blocks a click can come from: button rows and Slack's feedback element."""


def mark_clicked(ctx: JobContext, job: ActionJob, action_id: str) -> None:
    """Replace the clicked buttons with who clicked what, so a step is not clicked twice.

    The clicked block is the one with the payload's ``block_id`` (Slack always sends one);
    without it every row of buttons goes, rather than leaving the clicked one clickable.
    """
    blocks: list[dict[str, Any]] = []
    for block in job.blocks:
        if block.get("type") in _BUTTON_BLOCKS and (not job.block_id or block.get("block_id") == job.block_id):
            note = f"<@{job.turn.user}> {BUTTON_NOTES.get(action_id, 'clicked a button')}"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
        else:
            blocks.append(block)
    call_slack(
        "chat.update",
        ctx.client.chat_update,
        channel=job.turn.channel,
        ts=job.message_ts,
        text=job.message_text,
        blocks=blocks,
    )


# -- the slash command -----------------------------------------------------------------------------------

SUBCOMMANDS = ("diagnose", "ask", "help")
USAGE = (
    "Usage: `/nginx-triage diagnose <pasted log lines, nginx -T or limits>`, "
    "`/nginx-triage ask <question about nginx>`, or `/nginx-triage help`. "
    "For a longer conversation, mention me in a thread with the alert."
)

_SPLIT_RE = lazy_compile(r"\s+", re.S)


def split_subcommand(text: str) -> tuple[str, str]:
    """``"diagnose  lines…"`` -> ``("diagnose", "lines…")``; the rest keeps its newlines."""
    parts = _SPLIT_RE.split(text.strip(), maxsplit=1)
    sub = parts[0].lower() if parts and parts[0] else ""
    return sub, parts[1] if len(parts) > 1 else ""


def answer_command(
    ctx: JobContext,
    command: dict[str, str],
    response_url: str | None,
    bot_user_id: str | None,
    masked: tuple[str, ...] = (),
) -> None:
    """Run the subcommand; ``diagnose`` opens a thread in the channel so the conversation can go on."""
    sub, rest = split_subcommand(str(command.get("text") or ""))
    team = str(command.get("team_id") or "T0")
    channel = str(command.get("channel_id") or "")
    user = str(command.get("user_id") or "")
    if response_url and not ctx.settings.response_url_allowed(response_url):
        response_url = None  # an inbox item written before the intake check: never follow it
    private: Destination = open_target(ResponseUrlTarget(response_url), ctx.client)
    one_off = f"cmd-{command.get('trigger_id') or 'none'}"
    text = clean_text(rest, bot_user_id)
    if sub in ("", "help"):
        sub, text = "help", "help"
    if sub not in SUBCOMMANDS or (sub in ("diagnose", "ask") and not text):
        private.post(error_reply(USAGE))
        return
    if sub == "diagnose":
        ts = open_thread(ctx, channel, user)
        if ts:
            thread = ThreadDestination(ctx.client, channel, ts)
            turn = Turn(
                team=team,
                channel=channel,
                thread_ts=ts,
                user=user,
                surface="command",
                text=text,
                kind="command",
                masked=masked,
            )
            ctx.turns.run(turn, FallbackDestination(thread, private))
            return
    turn = Turn(
        team=team,
        channel=channel,
        thread_ts=one_off,
        user=user,
        surface="command",
        text=text,
        kind="command",
        masked=masked,
    )
    ctx.turns.run(turn, private)


def open_thread(ctx: JobContext, channel: str, user: str) -> str | None:
    """A top-level message that the diagnosis goes under; None when the bot cannot post here.
    From the inbox it carries the item's event id, and a re-run reuses the one already posted."""
    metadata, existing = opener_key(ctx.client, channel)
    if existing:
        return existing
    result = call_slack(
        "chat.postMessage",
        ctx.client.chat_postMessage,
        channel=channel,
        text=f"<@{user}> asked me to diagnose a paste (`/nginx-triage diagnose`). "
        "My findings are in this thread; reply here with more evidence.",
        **({"metadata": metadata} if metadata else {}),
    )
    return str(result["ts"]) if result is not None and result.get("ts") else None


# -- the Home tab -------------------------------------------------------------------------------------------


def publish_home(ctx: JobContext, job: HomeJob) -> None:
    """views.publish of the Home view, once per event id (a failed dedupe still publishes)."""
    with logging_context(event_id=job.event_id, user=job.user):
        try:
            if not ctx.turns.claim(job.event_id):
                return
        except StoreError as exc:
            home_log.warning("dedupe unavailable, publishing anyway (views.publish is idempotent): %s", exc)
        call_slack("views.publish", ctx.client.views_publish, user_id=job.user, view=home_view(ctx.kb))
