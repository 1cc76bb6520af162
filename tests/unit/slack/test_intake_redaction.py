"""Every surface redacts what the user typed at intake, in the listener, before the job is queued
(and so before the inbox, a worker or a log can see it): mentions, DMs and thread replies,
guided-step pastes, the slash command, the message shortcut; uploads when downloaded."""

from __future__ import annotations

from typing import Any

from bot.slack.delivery.jobs import CommandJob, TurnJob
from bot.slack.files import FileFetcher, FileRef
from bot.slack.listeners.commands.nginx_triage import nginx_triage_callback
from bot.slack.listeners.events.app_mention import app_mention_callback
from bot.slack.listeners.messages.message import message_callback
from bot.slack.listeners.shortcuts.diagnose_message import diagnose_message_callback
from bot.slack.settings import SlackSettings
from tests.fakes.bolt_fakes import RecordingAck, RecordingRespond, RecordingTriage, context_for, request_with
from tests.fakes.fake_slack import BOT_TOKEN, BOT_USER, TEAM, FakeSlack

SECRET = "hunter2-Qz9x-intake"
PASTE = f'proxy_set_header Cookie "session={SECRET}";\nenv DB_PASSWORD={SECRET};'
ESCAPED = PASTE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _only_job(triage: RecordingTriage) -> Any:
    (job,) = triage.submitted
    return job


def _assert_clean(text: str, masked: tuple[str, ...]) -> None:
    assert SECRET not in text and "<redacted>" in text
    assert masked == ("header:Cookie", "env:DB_PASSWORD")


def test_a_mention_is_redacted_in_the_listener() -> None:
    triage = RecordingTriage()
    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> {ESCAPED}", "ts": "1.1", "channel": "C1"}
    app_mention_callback(body={"team_id": TEAM}, event=event, context=context_for(triage), request=request_with())
    job = _only_job(triage)
    assert isinstance(job, TurnJob)
    _assert_clean(job.turn.text, job.turn.masked)


def test_a_dm_and_a_thread_reply_are_redacted_in_the_listener() -> None:
    for extra in ({"channel": "D1", "channel_type": "im"}, {"channel": "C1", "thread_ts": "1.0"}):
        triage = RecordingTriage()
        event = {"type": "message", "user": "U1", "text": ESCAPED, "ts": "1.1", **extra}
        message_callback(body={"team_id": TEAM}, event=event, context=context_for(triage), request=request_with())
        job = _only_job(triage)
        _assert_clean(job.turn.text, job.turn.masked)


def test_the_slash_command_text_is_redacted_before_the_job_is_queued() -> None:
    triage = RecordingTriage()
    command = {"team_id": TEAM, "channel_id": "C1", "user_id": "U1", "text": f"diagnose {PASTE}"}
    nginx_triage_callback(
        ack=RecordingAck(), command=command, respond=RecordingRespond(None), context=context_for(triage)
    )
    job = _only_job(triage)
    assert isinstance(job, CommandJob)
    _assert_clean(job.command["text"], job.masked)
    assert job.command["text"].startswith("diagnose ")


def test_the_message_shortcut_is_redacted_in_the_listener() -> None:
    triage = RecordingTriage()
    shortcut = {
        "type": "message_action",
        "callback_id": "diagnose_message",
        "team": {"id": TEAM},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "message": {"text": ESCAPED, "ts": "1.1"},
    }
    diagnose_message_callback(
        ack=RecordingAck(), shortcut=shortcut, respond=RecordingRespond(None), context=context_for(triage)
    )
    job = _only_job(triage)
    _assert_clean(job.turn.text, job.turn.masked)


def test_an_upload_is_redacted_as_it_is_downloaded() -> None:
    fake = FakeSlack().start()
    try:
        file_id = fake.add_file("nginx-T.txt", PASTE.encode())
        settings = SlackSettings(bot_token=BOT_TOKEN, api_url=fake.base_url, api_url_set=True, http_timeout=5)
        from slack_sdk import WebClient

        fetched = FileFetcher(settings, WebClient(token=BOT_TOKEN, base_url=fake.base_url)).fetch(FileRef(file_id))
    finally:
        fake.stop()
    _assert_clean(fetched.text, fetched.masked)
