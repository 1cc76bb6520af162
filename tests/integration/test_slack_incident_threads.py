"""Six incident kinds as a junior would run them in Slack (issue 10): signed HTTP to the running
app, the fake Slack Web API on 127.0.0.1, a real store, and each incident's real material
(tests/incidents: the error lines, the evidence pasted, and the full `nginx -T` the real nginx
prints for the incident's tree).

For each kind: the first answer fits on one screen; after `nginx -T` the first answer (updated in
place with chat.update, a short note posted) names the tailored change with file:line; a question
in between is answered from the thread; "walk" and "done" typed as words drive the guide, whose
steps fit the kind; pasting the unchanged configuration at the change step is refused, saying what
is still different; no message breaks a Block Kit limit or shows `None`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeBase
from bot.render.blocks import SlackMessage, validate_message
from tests.fakes.fake_slack import FakeSlack, Message
from tests.fakes.slack_harness import CHANNEL, BotUnderTest, files_entry, mention, thread_message
from tests.incidents.trees import EVIDENCE, dump, incidents, write_tree

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx (apt-get install nginx)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx")
elif not Path("/etc/nginx/nginx.conf").exists():
    pytestmark = pytest.mark.skip(reason="needs Debian's packaged /etc/nginx")

WAIT_S = 30.0
FIRST_ANSWER_MAX = 1500


@dataclass(frozen=True)
class Kind:
    """What one incident kind must show in the thread."""

    incident: str
    change: str  # the tailored change: directive and file:line suffix in the first answer
    where: str
    steps: tuple[str, ...]  # the guide's step titles, in order
    unchanged: str = "nginx-T"  # what is pasted unchanged at the change step: the dump or the pool
    refused: str = ""  # words of the refusal: the directive still different


KINDS = [
    Kind(
        "fastcgi-read-timeout",
        "fastcgi_read_timeout",
        "sites-enabled/shop:11",
        (
            "Find the slow requests",
            "Raise the timeout at the handling location",
            "Test the configuration",
            "Reload nginx",
            "Verify the slow request",
        ),
        refused="`fastcgi_read_timeout` is unset, not 120s",
    ),
    Kind(
        "client-body-413",
        "client_max_body_size",
        "sites-enabled/files:12",
        ("Read the current values", "Make the change", "Test the configuration", "Reload nginx", "Verify the fix"),
        refused="`client_max_body_size` is 2000M, not 3g",
    ),
    Kind(
        "php-fpm-backlog",
        "pm.max_children",
        "pool.d/www.conf:127",
        (
            "Read the pool's current values",
            "Change the pool",
            "Test the pool configuration",
            "Restart php-fpm",
            "Verify the accept queue",
        ),
        unchanged="pool",
        refused="`pm.max_children` is 5, not 20",
    ),
    Kind(
        "localhost-dual-stack",
        "proxy_pass",
        "sites-enabled/app:7",
        ("Read the current values", "Make the change", "Test the configuration", "Reload nginx", "Verify the fix"),
        refused="`proxy_pass` is http://localhost:8080, not http://127.0.0.1:8080",
    ),
    Kind(
        "uneven-worker-load",
        "worker_connections",
        "nginx.conf:",
        ("Gather the missing evidence", "Make the change", "Test the configuration", "Reload nginx", "Verify the fix"),
        refused="`worker_connections` is 8192, not",
    ),
    Kind(
        "emfile-at-connections",
        "worker_connections",
        "nginx.conf:",
        ("Read the current values", "Make the change", "Test the configuration", "Reload nginx", "Verify the fix"),
        refused="`worker_connections` is 1024, not",
    ),
]


@pytest.fixture
def bot(fake: FakeSlack, kb: KnowledgeBase, tmp_path: Path) -> Iterator[BotUnderTest]:
    running = BotUnderTest(fake, kb, f"sqlite:///{tmp_path / 'bot.db'}")
    yield running
    running.stop()


def _messages(fake: FakeSlack, root: str, at_least: int, what: str) -> list[Message]:
    return list(
        fake.wait_for(
            lambda: (m := fake.thread_messages(CHANNEL, root)) and len(m) >= at_least and m,
            WAIT_S,
            f"{at_least} messages ({what}) in thread {root}",
        )
    )


def _check_message(msg: Message) -> None:
    """Within Block Kit's limits, with fallback text, and no `None` shown anywhere."""
    problems = validate_message(SlackMessage(text=msg.text, blocks=msg.blocks))
    assert not problems, problems
    shown = msg.text + json.dumps(msg.blocks)
    assert "None" not in shown, shown[:2000]


@pytest.mark.parametrize("kind", KINDS, ids=[k.incident for k in KINDS])
def test_an_incident_thread_from_first_paste_to_a_refused_unchanged_config(
    bot: BotUnderTest, fake: FakeSlack, kind: Kind
) -> None:
    incident = incidents()[kind.incident]
    with tempfile.TemporaryDirectory() as tmp:
        nginx_t = dump(write_tree(Path(tmp), incident))
    root = "1700000100.000100"
    seq = iter(range(101, 999))

    def ts() -> str:
        return f"1700000100.000{next(seq)}"

    # 1. The error lines: a first answer on one screen, with the one piece of evidence to paste.
    bot.event(mention("help, this is in our error log:\n```\n" + incident.pastes[0] + "\n```", root), f"E{root}a")
    first = _messages(fake, root, 1, "the first answer")[0]
    assert len(first.text) <= FIRST_ANSWER_MAX, len(first.text)
    assert "What happened" in first.text
    _check_message(first)
    fake.wait_for(
        lambda: [u for u in fake.thread_uploads(CHANNEL, root) if u.filename == "nginx-triage-diagnosis.md"],
        WAIT_S,
        "the report attached to the first answer",
    )

    # 2. The rest of the evidence, then the full `nginx -T` as an uploaded file (a snippet).
    count = 1
    for paste in incident.pastes[1:]:
        bot.event(thread_message(paste, ts(), root), f"E{root}{count}")
        count += 1
        _messages(fake, root, count, "a note of what changed")
    file_id = fake.add_file("nginx-T.txt", nginx_t.encode())
    bot.event(thread_message("", ts(), root, files=[files_entry(file_id, "nginx-T.txt")]), f"E{root}T")
    count += 1
    msgs = _messages(fake, root, count, "the note after nginx -T")
    assert first.edits >= 1, "later pastes update the first answer in place"
    assert kind.change in first.text and kind.where in first.text, first.text
    assert len(first.text) <= FIRST_ANSWER_MAX + 600  # the answer plus what changed, still short
    reports = [u for u in fake.thread_uploads(CHANNEL, root) if u.filename == "nginx-triage-diagnosis.md"]
    assert len(reports) == 1, "the full report is never posted twice"
    assert "Updated the answer above" in msgs[-1].text

    # 3. A question in between is answered from the thread: the file and line of the change.
    bot.event(thread_message("which file do I change?", ts(), root), f"E{root}q")
    count += 1
    answer = _messages(fake, root, count, "the answer to which file")[-1]
    assert kind.where in answer.text, answer.text

    # 4. "walk" and "done" typed as words drive the guide; its steps fit the kind.
    bot.event(thread_message("walk", ts(), root), f"E{root}w")
    count += 1
    step1 = _messages(fake, root, count, "step 1")[-1]
    assert f"Step 1 of {len(kind.steps)}: {kind.steps[0]}" in step1.text, step1.text
    bot.event(thread_message("can I ignore these?", ts(), root), f"E{root}i")
    count += 1
    _messages(fake, root, count, "the answer about ignoring")
    bot.event(thread_message("done", ts(), root), f"E{root}d")
    count += 1
    step2 = _messages(fake, root, count, "step 2")[-1]
    assert f"Step 2 of {len(kind.steps)}: {kind.steps[1]}" in step2.text, step2.text

    # 5. The unchanged configuration pasted at the change step is refused, saying what differs.
    unchanged = (
        nginx_t if kind.unchanged == "nginx-T" else (EVIDENCE / "php-fpm-pool" / "grep-Hn-debian.txt").read_text()
    )
    bot.event(thread_message(unchanged, ts(), root), f"E{root}u")
    count += 1
    verdict = _messages(fake, root, count, "the verdict on the unchanged config")[-1]
    assert "not passed yet" in verdict.text and kind.refused in verdict.text, verdict.text

    for msg in fake.thread_messages(CHANNEL, root):
        _check_message(msg)
