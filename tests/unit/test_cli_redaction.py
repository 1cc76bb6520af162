"""The CLI's intake redaction on the streamed path: a log too big to read whole goes past it into
the matcher (partly in C), so what the grouper keeps of it is redacted before any output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import intake
from bot.cli.redacting import IntakeRedaction
from bot.diagnosis.collect import Collected
from bot.grouping import fastgroup
from bot.matching import Matcher

SECRET = "Zq5streamSecret"
REQUEST = (
    "2024/05/01 10:00:{s:02d} [error] 7#7: *{n} upstream timed out (110: Connection timed out) while reading "
    'response header from upstream, client: 10.0.0.{c}, server: api, request: "GET /x?session={secret}{n}&page=1 '
    'HTTP/1.1", upstream: "http://10.0.0.2:8080/x?session={secret}{n}&page=1", host: "api"'
)


def _log(lines: int) -> str:
    out = [REQUEST.format(s=i % 60, n=i, c=i % 200, secret=SECRET) for i in range(lines)]
    out.append(f"2024/05/01 10:01:00 [error] 7#7: something odd, token={SECRET}")
    return "\n".join(out) + "\n"


def _everything_kept(ev: Collected) -> str:
    groups = [
        {"samples": g.samples, "facts": g.facts, "tallies": {k: dict(t.counts) for k, t in g.tallies.items()}}
        for g in ev.grouper.groups.values()
    ]
    return json.dumps({"groups": groups, "unmatched": ev.grouper.unmatched_samples, "env": ev.env_text})


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_a_big_log_file_is_redacted_in_what_the_grouper_keeps(
    matcher: Matcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    monkeypatch.setattr(intake, "SNIFF_MAX_BYTES", 4096)  # "big" without writing 32 MB
    if not native:
        monkeypatch.setattr(fastgroup, "available", lambda: False)  # intake imports it when a file is big
    log = tmp_path / "error.log"
    log.write_text(_log(300))
    redaction = IntakeRedaction()
    ev = intake.collect([log], matcher, None, redaction)
    assert ev.grouper.groups and SECRET not in _everything_kept(ev)
    assert redaction.masked and redaction.streamed
    off = IntakeRedaction(enabled=False)
    assert SECRET in _everything_kept(intake.collect([log], matcher, None, off)) and not off.masked


def test_the_tail_of_a_stream_past_the_sniffed_head_is_redacted_too(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "SNIFF_MAX_BYTES", 4096)
    redaction = IntakeRedaction()
    ev = Collected()
    intake._take_stream(ev, io.BytesIO(_log(300).encode()), "stdin", matcher, redaction)
    redaction.kept(ev)
    assert SECRET not in _everything_kept(ev)


def test_match_sees_a_secret_spread_over_lines(matcher: Matcher) -> None:
    lines = ["map $http_x_api_key $client {", f'    "{SECRET}" partner;', "}"] * 3
    out = list(IntakeRedaction().lines(lines))
    assert len(out) == len(lines) and not any(SECRET in line for line in out)
