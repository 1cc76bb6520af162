"""Secrets never leave the paste, through a real ``nginx-triage serve`` over signed HTTP.

The 96-secret corpus (tests/data/redaction) goes in through every surface: a reply in a thread,
an uploaded file, the slash command, a DM, the message shortcut, a guided step's paste, and two
deliveries rejected by the signature check (a stale timestamp, a rotated signing secret). Then
every marker is searched in every Slack call the fake recorded (messages, blocks, uploaded
files, response_url posts), every row of every table of the database (SQLite with its inbox
file, and PostgreSQL) and every line the server logged: none is found. The first answer says
what was masked.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import column, create_engine, inspect, select, table

from tests.conftest_store import postgres_schemas, skip_or_fail_without_postgres
from tests.fakes.fake_slack import (
    TEAM,
    FakeSlack,
    event_body,
    find_buttons,
    form_body,
    payload_body,
    sign,
)
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, USER, block_action, files_entry, mention, thread_message

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "redaction"
PASTE = (DATA / "nginx-T-secrets.txt").read_text(encoding="utf-8")
MARKERS = [s["marker"] for s in yaml.safe_load((DATA / "secrets.yaml").read_text())["secrets"]]
ALERT = "2024/05/01 10:00:01 [alert] 2475#2475: 768 worker_connections are not enough"
WAIT_S = 90.0
"""Bound for one answer: a worker process parses the 14 KB corpus on a busy two-core machine."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    skip_or_fail_without_postgres()
    with postgres_schemas() as make:
        yield make()


def post(serve: ServeProcess, body: str, content_type: str, headers: dict[str, str]) -> int:
    """One delivery to /slack/events, as Slack sends it; the HTTP status."""
    conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=30)
    try:
        conn.request("POST", "/slack/events", body=body.encode(), headers={"Content-Type": content_type, **headers})
        return conn.getresponse().status
    finally:
        conn.close()


def event(serve: ServeProcess, ev: dict[str, object], event_id: str) -> int:
    body = event_body(ev, event_id)
    return post(serve, body, "application/json", sign(body))


def interact(serve: ServeProcess, payload: dict[str, object]) -> int:
    body = payload_body(payload)
    return post(serve, body, "application/x-www-form-urlencoded", sign(body))


def wait_for(fake: FakeSlack, what: str, predicate: object) -> object:
    return fake.wait_for(predicate, WAIT_S, what)  # type: ignore[arg-type]


def dump_database(url: str) -> dict[str, list[str]]:
    """Every row of every table (as JSON text) by table name; the SQLite inbox lives in a sibling file."""
    urls = [url]
    if url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///") + "-inbox").exists():
        urls.append(url + "-inbox")
    out: dict[str, list[str]] = {}
    for one in urls:
        engine = create_engine(one)
        try:
            names = inspect(engine).get_table_names()
            assert names, f"no tables in {one}"
            with engine.connect() as conn:
                for name in names:
                    columns = [c["name"] for c in inspect(engine).get_columns(name)]
                    rows = conn.execute(select(*table(name, *(column(c) for c in columns)).c)).all()
                    out.setdefault(name, []).extend(json.dumps(list(r), default=str) for r in rows)
        finally:
            engine.dispose()
    return out


def found(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


def test_no_planted_secret_reaches_slack_the_database_or_the_log(
    fake: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    serve = ServeProcess.start(
        http_env(fake, database_url, NGINX_TRIAGE_WORKERS="2", NGINX_TRIAGE_INBOX="on"), tmp_path
    )
    try:
        serve.wait_ready()
        # 1. Rejected deliveries: a late retry past the 5-minute window, a rotated signing secret.
        stale = event_body(mention(PASTE, "1800000900.000001"), "EvStale")
        assert post(serve, stale, "application/json", sign(stale, timestamp=int(time.time()) - 600)) == 401
        forged = event_body(mention(PASTE, "1800000900.000002"), "EvForged")
        assert post(serve, forged, "application/json", sign(forged, "the-old-signing-secret")) == 401

        # 2. A thread: the alert, then the corpus pasted as a reply in it.
        root = "1800000901.000100"
        assert event(serve, mention(ALERT, root), "EvRoot") == 200
        wait_for(fake, "the alert's answer", lambda: fake.thread_messages(CHANNEL, root))
        assert event(serve, thread_message(PASTE, "1800000901.000200", root), "EvReply") == 200
        answers = wait_for(
            fake, "the reply's answer", lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= 2 and m
        )
        first = answers[1]  # type: ignore[index]
        assert "I masked" in first.text and first.text.count("I masked") == 1

        # 3. A guided step: Walk me through it, then a paste with secrets as the step's output.
        (msg, block, button) = find_buttons(fake.thread_messages(CHANNEL, root), "guide_start")[-1]
        assert (
            interact(serve, block_action(msg.ts, root, msg.blocks, block.get("block_id", ""), button, msg.text)) == 200
        )
        wait_for(fake, "step 1", lambda: len(fake.thread_messages(CHANNEL, root)) >= 3)
        assert event(serve, thread_message(PASTE, "1800000901.000300", root), "EvStep") == 200
        checks = wait_for(
            fake, "the step's check", lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= 4 and m
        )
        assert any("I masked" in m.text for m in checks[3:])  # type: ignore[index]

        # 4. An uploaded file in a new thread.
        file_id = fake.add_file("nginx-T.txt", PASTE.encode())
        upload_root = "1800000902.000100"
        up = mention("here is everything", upload_root, files=[files_entry(file_id, "nginx-T.txt")])
        assert event(serve, up, "EvUpload") == 200
        wait_for(fake, "the upload's answer", lambda: fake.thread_messages(CHANNEL, upload_root))

        # 5. A DM.
        dm = thread_message(PASTE, "1800000903.000100", None, channel="D0DIRECT", channel_type="im")
        assert event(serve, dm, "EvDM") == 200
        wait_for(fake, "the DM's answer", lambda: fake.thread_messages("D0DIRECT", "1800000903.000100"))

        # 6. The slash command (its answer goes to a new thread and the response_url).
        command = form_body(
            {
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": USER,
                "command": "/nginx-triage",
                "text": "diagnose " + PASTE,
                "response_url": fake.response_url("cmd"),
                "trigger_id": "1.2.cmd",
            }
        )
        before = len(fake.messages)
        assert post(serve, command, "application/x-www-form-urlencoded", sign(command)) == 200
        wait_for(fake, "the command's answer", lambda: len(fake.messages) >= before + 2)

        # 7. The message shortcut on a message holding the paste.
        shortcut = {
            "type": "message_action",
            "callback_id": "diagnose_message",
            "trigger_id": "1.2.sc",
            "team": {"id": TEAM},
            "user": {"id": USER},
            "channel": {"id": CHANNEL},
            "message": {"type": "message", "user": USER, "text": PASTE, "ts": "1800000904.000100"},
            "response_url": fake.response_url("sc"),
        }
        assert interact(serve, shortcut) == 200
        wait_for(fake, "the shortcut's answer", lambda: fake.thread_messages(CHANNEL, "1800000904.000100"))
        fake.wait_quiet(2.0, timeout=WAIT_S)
    finally:
        serve.stop()

    sent = fake.everything_sent()
    assert fake.uploads and all(u.completed for u in fake.uploads.values())
    assert found(sent) == [], "reached Slack"
    database = dump_database(database_url)
    assert {"conversations", "inbox", "unmatched_lines", "feedback", "processed_events"} <= set(database)
    assert database["conversations"] and database["inbox"] and database["unmatched_lines"]
    for name, rows in database.items():
        assert found("\n".join(rows)) == [], f"reached the database table {name}"
    log = serve.log_text()
    assert found(log) == [], "reached the log"
    rejected = [line for line in serve.log_lines() if line["msg"].startswith("rejected a request")]
    assert [line["msg"] for line in rejected] == [
        "rejected a request: timestamp outside the 5-minute window",
        "rejected a request: signature does not match the signing secret",
    ]
    assert all(line["team"] == TEAM and line["bytes"] > 10_000 for line in rejected)
    assert abs(rejected[0]["skew_s"] - 600) < 60
    assert sum("masked" in m.text for m in fake.messages) >= 6  # each surface's first answer said so
