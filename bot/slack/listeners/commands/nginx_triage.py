"""``/nginx-triage diagnose|ask|help``: ack at once with an ephemeral "working…"; a worker answers
(``bot.slack.delivery.run_job.answer_command``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.evidence.redaction import redact_intake
from bot.slack.delivery.jobs import CommandJob
from bot.slack.listeners.payload import checked_response_url
from bot.slack.triage_bot import triage_of

COMMAND = "/nginx-triage"
WORKING = "Working on it…"


def nginx_triage_callback(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """Ack within Slack's 3 s with an ephemeral note, then queue the answer."""
    ack(text=WORKING, response_type="ephemeral")
    fields = {str(k): str(v) for k, v in command.items() if isinstance(v, str | int | float | bool)}
    redacted = redact_intake(fields.get("text", ""))  # at intake: before the job is queued, stored or logged
    fields["text"] = redacted.text
    triage = triage_of(context)
    response_url = checked_response_url(respond.response_url or fields.get("response_url"), triage.settings)
    triage.submit(CommandJob(fields, response_url, context.bot_user_id, redacted.keys))
