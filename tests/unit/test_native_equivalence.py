"""The C path and the pure-Python path give the same ``diagnose`` JSON (issue 11).

``bot.cli.intake`` reads a big log either with the C scanner (``_take_big_file_native``) or
line by line in Python (``Collected.add_log_lines``); both branches run here on the same
bytes and the diagnosis JSON must be identical: on every line of the corpora (the shared
corpus when present, and tests/data), and on random input built from those lines by
hypothesis (mutated, spliced, random bytes, CRLF, wrapped), in several chunk sizes.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.intake import _take_big_file_native
from bot.diagnosis import Collected, diagnose_evidence
from bot.evidence import iter_lines_binary
from bot.evidence.reading import InputError
from bot.knowledge.loader import KnowledgeBase
from bot.matching import Matcher
from bot.native import fastscan

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytestmark = pytest.mark.skipif(fastscan is None and not IN_CI, reason="the C extension is not built here")


def corpus_lines() -> list[str]:
    """Every ``line`` of the corpora: /work/shared/corpus (when this machine has it) and tests/data."""
    out: list[str] = []
    for path in sorted(
        [*Path("/work/shared/corpus").glob("*.yaml"), *(ROOT / "tests" / "data").glob("loglines*.yaml")]
    ):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            out += [str(row["line"]) for row in data if isinstance(row, dict) and row.get("line")]
    return out


LINES = corpus_lines()


def diagnosis_json(data: bytes, kb: KnowledgeBase, native: bool, chunk: int = 4 << 20) -> dict[str, Any]:
    """``diagnose --format json``'s diagnosis of ``data`` read by one branch of the intake."""
    matcher = Matcher(kb)
    ev = Collected()
    if native:
        from bot.grouping import fastgroup

        assert fastgroup.available()
        real = fastgroup.group_stream_native
        fastgroup.group_stream_native = lambda *a, **kw: real(*a, chunk_bytes=chunk, **kw)  # type: ignore[assignment]
        try:
            _take_big_file_native(ev, io.BytesIO(data), "log", matcher, None)
        finally:
            fastgroup.group_stream_native = real
    else:
        ev.add_log_lines(iter_lines_binary(io.BytesIO(data), "log"), matcher)
        ev.present.add("error-log")  # the native branch records the log even when it had no lines
    out = diagnose_evidence(ev, kb, None).to_json()
    return json.loads(json.dumps(out))


def outcome(data: bytes, kb: KnowledgeBase, native: bool, chunk: int = 4 << 20) -> dict[str, Any]:
    """The diagnosis JSON, or the refusal (binary, empty) both branches must give alike."""
    try:
        return diagnosis_json(data, kb, native=native, chunk=chunk)
    except InputError as exc:
        return {"refused": str(exc)}


def assert_same(data: bytes, kb: KnowledgeBase, chunk: int = 4 << 20) -> None:
    assert outcome(data, kb, True, chunk) == outcome(data, kb, False)


def test_the_corpora_are_there() -> None:
    assert len(LINES) > 200


def test_every_corpus_line_alone_gives_the_same_json(kb: KnowledgeBase) -> None:
    for line in LINES:
        assert_same(line.encode() + b"\n", kb)


def test_all_corpus_lines_together_give_the_same_json(kb: KnowledgeBase) -> None:
    data = "\n".join(LINES).encode() + b"\n"
    for chunk in (4096, 4 << 20):
        assert_same(data, kb, chunk)


def _mutated(line: str, draw: st.DrawFn) -> bytes:
    b = bytearray(line.encode())
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(b)))
        op = draw(st.integers(0, 4))
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = draw(st.integers(0, 255))
        elif op == 1:
            del b[pos : pos + draw(st.integers(1, 10))]
        elif op == 2:
            b[pos:pos] = draw(st.sampled_from([b", client: ", b", upstream: ", b'"', b"\xff", b"\t", b" | ", b"\r"]))
        elif op == 3:
            b[pos:pos] = draw(st.binary(max_size=12))
        else:
            b = b[:pos]
    return bytes(b)


@st.composite
def logs(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.integers(0, 9))
        if kind < 4:
            lines.append(draw(st.sampled_from(LINES)).encode())
        elif kind < 9:
            lines.append(_mutated(draw(st.sampled_from(LINES)), draw))
        else:
            lines.append(draw(st.binary(max_size=120)).replace(b"\n", b" "))
    sep = draw(st.sampled_from([b"\n", b"\r\n"]))
    return sep.join(lines) + draw(st.sampled_from([b"", b"\n"]))


def test_random_logs_from_the_corpora_give_the_same_json(kb: KnowledgeBase) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(logs(), st.sampled_from([7, 512, 4 << 20]))
    def check(data: bytes, chunk: int) -> None:
        if not data.strip() or b"\x00" in data[:65536]:
            return  # refused as empty or binary by both branches (check_sample runs before either)
        assert_same(data, kb, chunk)

    check()
