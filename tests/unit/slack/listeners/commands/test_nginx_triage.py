"""``nginx_triage_callback``: acks at once with an ephemeral "working…" and queues the answer."""

from __future__ import annotations

from bot.slack.delivery.jobs import CommandJob, ResponseUrlTarget
from bot.slack.listeners.commands.nginx_triage import WORKING, nginx_triage_callback
from tests.fakes.bolt_fakes import RecordingAck, RecordingRespond, RecordingTriage, context_for
from tests.fakes.fake_slack import BOT_USER, TEAM

COMMAND = {
    "team_id": TEAM,
    "channel_id": "C0TRIAGE",
    "user_id": "U0HUMAN1",
    "command": "/nginx-triage",
    "text": "diagnose 2024/05/01 10:00:00 [alert] 12#12: *3 1024 worker_connections are not enough",
    "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
    "trigger_id": "13345224609.738474920.8088930838d",
    "is_enterprise_install": False,
}


def test_ack_first_then_one_command_job_with_the_response_url() -> None:
    ack, triage = RecordingAck(), RecordingTriage()
    respond = RecordingRespond(response_url="https://hooks.slack.com/commands/T0001/1/from-bolt")
    nginx_triage_callback(ack=ack, command=COMMAND, respond=respond, context=context_for(triage))
    assert ack.calls == [{"text": WORKING, "response_type": "ephemeral"}]
    (job,) = triage.submitted
    assert isinstance(job, CommandJob)
    assert job.command["text"] == COMMAND["text"] and job.command["is_enterprise_install"] == "False"
    assert job.response_url == respond.response_url  # Bolt's respond wins over the form field
    assert job.bot_user_id == BOT_USER
    assert job.busy_target == ResponseUrlTarget(respond.response_url) and job.key is None
    assert respond.calls == []  # the answer comes later, from a worker


def test_without_bolts_response_url_the_form_field_is_used() -> None:
    triage = RecordingTriage()
    nginx_triage_callback(
        ack=RecordingAck(), command=COMMAND, respond=RecordingRespond(None), context=context_for(triage)
    )
    (job,) = triage.submitted
    assert isinstance(job, CommandJob) and job.response_url == COMMAND["response_url"]
