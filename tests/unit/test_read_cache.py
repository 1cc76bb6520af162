"""The two caches a conversation turn keeps between turns (issue 11, item 4; issue 13: bounded,
with their size for /metrics): ``ThreadReads`` (what a thread's pastes were read into) and
``CleanTexts`` (digests of texts that are a redaction's output)."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.evidence.redaction as redaction
from bot.conversation.engine import ConversationEngine
from bot.conversation.model import ConversationState, Incoming
from bot.conversation.read_cache import READS_BOUND, READS_CHARS_BOUND, ThreadReads, paste_keys
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.evidence.redaction import CLEAN_MIN_CHARS, CleanTexts, redact_intake
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "worker-connections"
LOG = (EXAMPLE / "error.log").read_text()
LIMITS = (EXAMPLE / "worker-limits.txt").read_text()


def read(matcher: Matcher, *pastes: str) -> Collected:
    ev = Collected()
    for text in pastes:
        ev.add_text(text, matcher)
    return ev


# -- ThreadReads ------------------------------------------------------------------------------------------


def test_paste_keys_name_each_prefix_in_order() -> None:
    a, b = paste_keys(["x", "y"])
    assert paste_keys(["x"]) == [a] and paste_keys(["x", "y", "z"])[:2] == [a, b]
    assert paste_keys(["y", "x"])[1] != b and len({a, b}) == 2


def test_what_is_kept_is_private_to_the_cache(matcher: Matcher) -> None:
    reads = ThreadReads()
    (key,) = paste_keys([LOG])
    ev = read(matcher, LOG)
    lines = ev.grouper.lines
    reads.keep(key, ev, len(LOG))
    ev.add_text(LOG, matcher)  # the turn goes on with its own copy
    n, got = reads.evidence([key])
    assert n == 1 and got is not None and got.grouper.lines == lines
    got.add_text(LIMITS, matcher)  # a later turn reads on top of its copy
    _, again = reads.evidence([key])
    assert again is not None and again.grouper.lines == lines and again.limits == []


def test_the_longest_kept_prefix_is_found(matcher: Matcher) -> None:
    reads = ThreadReads()
    keys = paste_keys([LOG, LIMITS, "nproc\n4"])
    reads.keep(keys[0], read(matcher, LOG), len(LOG))
    reads.keep(keys[1], read(matcher, LOG, LIMITS), len(LOG + LIMITS))
    n, ev = reads.evidence(keys)
    assert n == 2 and ev is not None and len(ev.limits) == 1
    assert reads.evidence(paste_keys([LIMITS])) == (0, None)


def test_a_read_the_time_budget_cut_short_is_not_kept(matcher: Matcher) -> None:
    reads = ThreadReads()
    ev = Collected(deadline=0.0)  # long past
    ev.add_text(LOG, matcher)
    assert ev.stopped
    reads.keep(paste_keys([LOG])[0], ev, len(LOG))
    assert reads.size() == (0, READS_BOUND)


def test_an_engine_turn_cut_short_keeps_nothing(kb: KnowledgeBase, matcher: Matcher) -> None:
    engine = ConversationEngine(kb, matcher, turn_seconds=1e-9)
    engine.handle(None, Incoming("t", "u", LOG))
    assert engine.reads.size() == (0, READS_BOUND)
    whole = ConversationEngine(kb, matcher)
    whole.handle(None, Incoming("t", "u", LOG))
    assert whole.reads.size() == (1, READS_BOUND)


def test_the_bound_holds_and_the_least_recently_used_goes_first(matcher: Matcher) -> None:
    reads = ThreadReads(bound=3)
    ev = read(matcher, "nproc\n4")
    keys = [paste_keys([f"paste {i}"])[0] for i in range(5)]
    for key in keys[:3]:
        reads.keep(key, ev, 1)
    assert reads.evidence([keys[0]])[0] == 1  # used: now the most recent
    for key in keys[3:]:
        reads.keep(key, ev, 1)
    assert reads.size() == (3, 3)
    assert [reads.evidence([k])[0] for k in keys] == [1, 0, 0, 1, 1]


def test_the_pasted_characters_are_bounded_too_and_the_newest_state_stays(matcher: Matcher) -> None:
    reads = ThreadReads(bound=8, chars_bound=1000)
    ev = read(matcher, "nproc\n4")
    keys = [paste_keys([f"paste {i}"])[0] for i in range(3)]
    reads.keep(keys[0], ev, 400)
    reads.keep(keys[1], ev, 500)
    assert reads.chars_size() == (900, 1000)
    reads.keep(keys[2], ev, 300)  # 1,200 > 1,000: the oldest goes
    assert reads.chars_size() == (800, 1000) and reads.evidence([keys[0]]) == (0, None)
    big = paste_keys(["big"])[0]
    reads.keep(big, ev, 5000)  # over the bound alone: kept, the others go
    assert reads.size() == (1, 8) and reads.evidence([big])[0] == 1


def test_a_kept_nginx_t_is_shared_read_only_and_the_rest_copied(matcher: Matcher) -> None:
    dump = (EXAMPLE / "nginx-T.txt").read_text()
    reads = ThreadReads()
    (key,) = paste_keys([dump])
    ev = read(matcher, dump)
    assert ev.config is not None
    reads.keep(key, ev, len(dump))
    _, got = reads.evidence([key])
    assert got is not None and got.config is ev.config  # parse_dump's result is read-only after
    assert got.grouper is not ev.grouper and got.nginx_t == ev.nginx_t and got.nginx_t is not ev.nginx_t


def test_diagnoses_are_kept_by_target_and_environment_and_handed_out_as_copies(
    kb: KnowledgeBase, matcher: Matcher
) -> None:
    reads = ThreadReads()
    (key,) = paste_keys([LOG])
    ev = read(matcher, LOG)
    reads.keep(key, ev, len(LOG))
    d = diagnose_evidence(ev, kb)
    reads.keep_diagnosis(key, (None, None), d)
    assert reads.diagnosis(key, (5000, None)) is None
    got = reads.diagnosis(key, (None, None))
    assert got is not None and got.to_json() == d.to_json() and got is not d
    got.matches.clear()
    again = reads.diagnosis(key, (None, None))
    assert again is not None and again.matches


def test_the_engine_reports_its_caches_with_their_bounds(kb: KnowledgeBase, matcher: Matcher) -> None:
    engine = ConversationEngine(kb, matcher)
    engine.diagnose([LOG], ConversationState("t"))
    sizes = engine.structure_sizes()
    assert sizes["thread_reads"] == (1, READS_BOUND)
    assert sizes["thread_reads_chars"] == (len(LOG), READS_CHARS_BOUND)
    assert sizes["redaction_clean"][1] == redaction.CLEAN_BOUND
    assert {"matcher_heads", "matcher_fuzzy"} <= set(sizes)


# -- CleanTexts --------------------------------------------------------------------------------------------


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of the texts the redaction scans, with a memo of this test's own."""
    seen: list[int] = []
    scan = redaction._scan

    def counting(text: str) -> redaction.Redaction:
        seen.append(len(text))
        return scan(text)

    monkeypatch.setattr(redaction, "CLEAN_TEXTS", CleanTexts())
    monkeypatch.setattr(redaction, "_scan", counting)
    return seen


BIG = (LOG * (CLEAN_MIN_CHARS // len(LOG) + 1))[: CLEAN_MIN_CHARS + 100]
SECRET = "hunter2-Qz9x-memo"
WITH_SECRET = BIG + f"\nenv DB_PASSWORD={SECRET};\n"


def test_a_redactions_output_is_not_scanned_again(scans: list[int]) -> None:
    first = redact_intake(WITH_SECRET)
    assert first.count == 1 and SECRET not in first.text
    again = redact_intake(first.text)
    assert again.text == first.text and again.count == 0
    assert scans == [len(WITH_SECRET)]


def test_a_text_holding_a_secret_is_scanned_every_time(scans: list[int]) -> None:
    for _ in range(2):
        result = redact_intake(WITH_SECRET)
        assert result.count == 1 and SECRET not in result.text
    assert scans == [len(WITH_SECRET)] * 2


def test_short_texts_are_not_remembered(scans: list[int]) -> None:
    short = LOG[: CLEAN_MIN_CHARS - 1]
    redact_intake(short)
    redact_intake(short)
    assert scans == [len(short)] * 2 and redaction.CLEAN_TEXTS.size() == (0, redaction.CLEAN_BOUND)


def test_the_memo_is_bounded_and_keeps_digests_only() -> None:
    memo = CleanTexts(bound=2)
    texts = [f"text {i}" for i in range(3)]
    for text in texts:
        memo.add(text)
    assert memo.size() == (2, 2)
    assert [memo.holds(t) for t in texts] == [False, True, True]
    assert all(isinstance(k, bytes) and len(k) == 16 for k in memo._digests)
