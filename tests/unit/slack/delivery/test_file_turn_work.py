"""A file shared in a thread is read once per turn (issue 11, item 4), through the real path a
worker runs: ``run_job`` -> ``TurnHandler`` -> files.info + download from the fake Slack ->
intake redaction -> the engine (sniff, match, diagnose) inside the SQLite store's update ->
the replies posted.

Counted, not timed: the redaction's scan over the file's text, the lines the sniffer
classifies and the lines the matcher parses. Each file's text is scanned once, each of its
lines classified once and matched once, and what earlier turns of the thread read is not
read again. The answer is the one an engine that keeps nothing between turns gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import bot.evidence.errorlog as errorlog
import bot.evidence.redaction as redaction
from bot.conversation.engine import ConversationEngine
from bot.conversation.model import Incoming, IncomingFile
from bot.conversation.read_cache import ThreadReads
from bot.evidence.redaction import CLEAN_MIN_CHARS, CleanTexts
from bot.evidence.sections.classify import Classifier
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher
from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import ThreadTarget, Turn, TurnJob
from bot.slack.delivery.run_job import run_job
from bot.slack.files import FileRef
from tests.fakes.fake_slack import TEAM, FakeSlack
from tests.fakes.slack_harness import CHANNEL, USER, settings_for

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = (ROOT / "examples" / "worker-connections" / "error.log").read_text().splitlines()
THREAD = "1800000070.000100"


def error_log(lines: int, seed: int) -> str:
    """``lines`` real lines of the example alert, one a second from midnight of day ``seed``
    (so no two lines, and no two files, are alike)."""
    out = []
    for i in range(lines):
        line = EXAMPLE[i % len(EXAMPLE)]
        stamp = f"2026/11/{seed:02d} {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        assert line[:19].count("/") == 2 and line[19] == " "
        out.append(stamp + line[19:])
    assert len(set(out)) == lines
    return "\n".join(out) + "\n"


ROOT_PASTE = "\n".join(EXAMPLE[:40])
FILE_A = error_log(3000, 1)
FILE_B = error_log(2500, 2)


@dataclass
class Work:
    """What the turn did: texts the redaction scanned, lines classified, parsed and matched."""

    scanned: list[int] = field(default_factory=list)
    classified: list[int] = field(default_factory=list)
    matched: int = 0
    parsed: int = 0

    def big_scans(self) -> list[int]:
        """Lengths of the scans over texts the size of an upload (log values and single lines aside)."""
        return [n for n in self.scanned if n >= CLEAN_MIN_CHARS]


@pytest.fixture
def ctx(kb: KnowledgeBase, fake: FakeSlack, tmp_path: Path) -> Iterator[JobContext]:
    built = JobContext.build(settings_for(fake, f"sqlite:///{tmp_path / 'bot.db'}"), kb=kb)
    yield built
    built.close()


@pytest.fixture
def work(ctx: JobContext, monkeypatch: pytest.MonkeyPatch) -> Work:
    """Counting wrappers around the redaction's scan, the sniffer's classifier and the matcher."""
    counted = Work()
    scan = redaction._scan
    run = Classifier.run
    engine = ctx.turns.engine
    assert isinstance(engine, ConversationEngine)
    match_text = engine.matcher.match_text
    parse = errorlog._parse_line

    def counting_scan(text: str) -> Any:
        counted.scanned.append(len(text))
        return scan(text)

    def counting_run(self: Classifier, lines: list[str]) -> Any:
        counted.classified.append(len(lines))
        return run(self, lines)

    def counting_match(raw: str) -> Any:
        counted.matched += 1
        return match_text(raw)

    def counting_parse(raw: str) -> Any:
        counted.parsed += 1
        return parse(raw)

    monkeypatch.setattr(redaction, "CLEAN_TEXTS", CleanTexts())  # what earlier tests redacted is not known here
    monkeypatch.setattr(redaction, "_scan", counting_scan)
    monkeypatch.setattr(Classifier, "run", counting_run)
    monkeypatch.setattr(engine.matcher, "match_text", counting_match)
    monkeypatch.setattr(errorlog, "_parse_line", counting_parse)
    return counted


def turn(**fields: Any) -> TurnJob:
    base = Turn(team=TEAM, channel=CHANNEL, thread_ts=THREAD, user=USER, surface="message", kind="message")
    return TurnJob(Turn(**{**base.__dict__, **fields}), ThreadTarget(CHANNEL, THREAD))


def share(ctx: JobContext, fake: FakeSlack, name: str, content: str) -> None:
    file_id = fake.add_file(name, content.encode())
    run_job(ctx, turn(files=(FileRef(file_id, name),)))


def measured(work: Work, action: Callable[[], None]) -> Work:
    """What ``action`` alone did."""
    work.scanned.clear()
    work.classified.clear()
    work.matched = work.parsed = 0
    action()
    return Work(list(work.scanned), list(work.classified), work.matched, work.parsed)


def lines_of(text: str) -> int:
    return len(text.splitlines())


def test_each_uploaded_file_is_scanned_sniffed_and_matched_once(ctx: JobContext, fake: FakeSlack, work: Work) -> None:
    run_job(ctx, turn(surface="mention", kind="mention", text=ROOT_PASTE))
    assert fake.thread_messages(CHANNEL, THREAD), "the root paste was answered"

    first = measured(work, lambda: share(ctx, fake, "a.log", FILE_A))
    assert first.big_scans() == [len(FILE_A)]  # at intake; the engine and the unmatched check do not scan again
    assert first.classified == [lines_of(FILE_A)]  # one cut: the engine's evidence check is the one reading uses
    assert first.matched == lines_of(FILE_A)  # the root paste's lines are not matched again
    assert first.parsed == lines_of(FILE_A)  # the matcher takes the line the sniffer parsed

    second = measured(work, lambda: share(ctx, fake, "b.log", FILE_B))
    assert second.big_scans() == [len(FILE_B)]
    assert second.classified == [lines_of(FILE_B)]  # neither the root paste nor a.log is cut again
    assert second.matched == lines_of(FILE_B)
    assert second.parsed == lines_of(FILE_B)

    updates = fake.calls_to("chat.update")
    assert len(updates) == 2, "each file updated the first answer in place"
    assert ctx.structure_sizes()["thread_reads"][0] >= 1


def test_an_uploaded_file_shared_again_is_not_scanned_again(ctx: JobContext, fake: FakeSlack, work: Work) -> None:
    """The same bytes uploaded twice: the second intake redaction is a lookup (the first one's
    output is known clean), and the file is still read as a paste of its own."""
    run_job(ctx, turn(surface="mention", kind="mention", text=ROOT_PASTE))
    share(ctx, fake, "a.log", FILE_A)
    again = measured(work, lambda: share(ctx, fake, "a-again.log", FILE_A))
    assert again.big_scans() == []
    assert again.classified == [lines_of(FILE_A)]
    assert again.matched == lines_of(FILE_A)


def test_a_file_with_secrets_is_scanned_at_intake_and_stored_without_them(
    ctx: JobContext, fake: FakeSlack, work: Work
) -> None:
    secret = "hunter2-Qz9x-upload"
    content = FILE_A + f'proxy_set_header Authorization "Bearer {secret}";\n'
    run_job(ctx, turn(surface="mention", kind="mention", text=ROOT_PASTE))
    for name in ("secret.log", "secret-again.log"):  # a text holding a secret is never "known clean"
        done = measured(work, lambda name=name: share(ctx, fake, name, content))
        assert done.big_scans() == [len(content)]
    state = ctx.store.load(f"{TEAM}:{CHANNEL}:{THREAD}")
    assert state is not None and len(state.pastes) == 3
    assert all(secret not in paste for paste in state.pastes)
    assert secret not in fake.everything_sent()


# -- the same answer as reading everything again ------------------------------------------------------


def _conversation(engine: ConversationEngine) -> list[tuple[list[str], str | None, str]]:
    """Replies (texts), the last diagnosis' JSON and the thread state, turn by turn."""
    steps = [
        Incoming("t", "u", ROOT_PASTE),
        Incoming("t", "u", files=(IncomingFile("a.log", FILE_A),)),
        Incoming("t", "u", "which file?"),
        Incoming("t", "u", files=(IncomingFile("b.log", FILE_B),)),
        Incoming("t", "u", "Walk me through it"),
        Incoming("t", "u", "Done."),
    ]
    state = None
    out = []
    for incoming in steps:
        state, replies = engine.handle(state, incoming)
        state.created_at = state.updated_at = 0.0
        diagnoses = [r.diagnosis for r in replies if r.diagnosis is not None]
        last = str(diagnoses[-1].to_json()) if diagnoses else None
        out.append(([r.text for r in replies], last, state.to_json()))
    return out


def test_kept_reads_give_the_answers_reading_every_paste_again_gives(kb: KnowledgeBase, matcher: Matcher) -> None:
    keeping = ConversationEngine(kb, matcher)
    forgetting = ConversationEngine(kb, matcher)
    forgetting.reads = ThreadReads(bound=0)  # keeps nothing: every turn reads every paste
    assert _conversation(keeping) == _conversation(forgetting)
    assert keeping.reads.size()[0] >= 1 and forgetting.reads.size() == (0, 0)
