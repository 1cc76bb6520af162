"""A partial `nginx -T` uploaded in a Slack thread (a file or a snippet: Slack delivers both as
files) goes through the same rule as a paste or the terminal: no diff, the reply says what is
missing; the whole dump afterwards gets the diff. Signed HTTP to the running app, the fake
Slack Web API on 127.0.0.1 (issue 10)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeBase
from tests.fakes.fake_slack import FakeSlack, Message
from tests.fakes.slack_harness import CHANNEL, BotUnderTest, files_entry, mention, thread_message

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "worker-connections"
ALERT = "\n".join((EXAMPLE / "error.log").read_text().splitlines()[:20])
NGINX_T = (EXAMPLE / "nginx-T.txt").read_text()
PARTIAL = NGINX_T[: NGINX_T.index("location / {")]  # the copy stopped inside the server block
WAIT_S = 20.0


@pytest.fixture
def bot(fake: FakeSlack, kb: KnowledgeBase, tmp_path: Path) -> Iterator[BotUnderTest]:
    running = BotUnderTest(fake, kb, f"sqlite:///{tmp_path / 'bot.db'}")
    yield running
    running.stop()


def _replies(fake: FakeSlack, root: str, at_least: int) -> list[Message]:
    return list(
        fake.wait_for(
            lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= at_least and m,
            WAIT_S,
            f"{at_least} replies in thread {root}",
        )
    )


def _diff_uploads(fake: FakeSlack, root: str) -> list[str]:
    return [
        u.filename
        for u in fake.uploads.values()
        if u.completed and u.thread_ts == root and u.filename.endswith(".diff")
    ]


def test_a_partial_dump_uploaded_as_a_file_gets_no_diff(bot: BotUnderTest, fake: FakeSlack) -> None:
    root = "1800000031.000100"
    bot.event(mention(ALERT, root), "EvPartial1")
    _replies(fake, root, 1)
    partial_id = fake.add_file("nginx-T.txt", PARTIAL.encode())
    bot.event(thread_message("", f"{root[:-3]}201", root, files=[files_entry(partial_id, "nginx-T.txt")]), "EvPartial2")
    reply = _replies(fake, root, 2)[-1]
    seen = html.unescape(" ".join((reply.text + "\n" + json.dumps(reply.blocks)).split()))
    assert "No diff yet" in seen and "sudo nginx -T 2>&1" in seen and "never closes" in seen, seen
    bot.wait_idle()
    assert _diff_uploads(fake, root) == []

    whole_id = fake.add_file("nginx-T-full.txt", NGINX_T.encode())
    bot.event(thread_message("", f"{root[:-3]}301", root, files=[files_entry(whole_id, "nginx-T-full.txt")]), "EvWhole")
    fake.wait_for(lambda: _diff_uploads(fake, root), WAIT_S, "the diff uploaded after the whole dump")
