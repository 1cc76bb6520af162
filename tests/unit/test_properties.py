"""Arbitrary text and bytes through parsing, matching and diagnosis: no exception, and the
work per line stays bounded (lines are cut, regexes are linear, caches are bounded)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diagnosis.build import diagnose_lines
from bot.evidence.errorlog import MAX_LINE_CHARS, parse_line
from bot.evidence.reading import InputError, iter_lines_binary

PIECES = st.sampled_from(
    [
        "2024/01/01 00:00:00 ",
        "[error] ",
        "[emerg]: ",
        "12#12: ",
        "*3 ",
        "nginx: ",
        "web_1 | ",
        "connect() failed ",
        "(111: Connection refused)",
        "(24: ",
        " while connecting to upstream",
        ", client: ",
        ', upstream: "',
        '"',
        "worker_connections are not enough",
        "(",
        ")",
        ":",
        "limiting requests, excess: ",
        ' by zone "',
        'open() "/x" failed ',
        "\\",
        "%",
        "\t",
    ]
)
NGINXISH = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=40).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(st.text(max_size=3000), NGINXISH))
def test_parse_and_match_never_raise(matcher, text):
    for raw in text.splitlines() or [text]:
        line = parse_line(raw)
        assert len(line.raw) <= MAX_LINE_CHARS
        m = matcher.match(line)
        if m is not None:
            assert 0.0 < m.score <= 1.0 and m.kb_id in matcher.kb.errors
            assert all(isinstance(v, str) for v in m.facts.values())


@SETTINGS
@given(st.lists(NGINXISH, min_size=1, max_size=30))
def test_diagnose_never_raises(kb, matcher, lines):
    d = diagnose_lines(lines, kb, matcher)
    assert d.lines == len(lines)
    assert sum(m.count for m in d.matches) + d.unmatched_lines <= len(lines)
    d.to_json()


@SETTINGS
@given(st.binary(max_size=5000))
def test_bytes_are_read_or_refused_cleanly(kb, matcher, data):
    try:
        lines = list(iter_lines_binary(io.BytesIO(data), "paste"))
    except InputError as exc:
        assert str(exc).startswith("paste: ")
        return
    diagnose_lines(lines, kb, matcher)


def test_long_hostile_lines_are_bounded(matcher):
    for unit in ("(24: ", "worker_connections are not enough ", '"', "a" * 7 + " ", "1"):
        raw = "2024/01/01 00:00:00 [error] 1#1: *1 " + unit * (1_000_000 // len(unit))
        line = parse_line(raw)
        assert len(line.raw) <= MAX_LINE_CHARS
        matcher.match(line)
