"""One bad part never sinks the rest: odd digits, huge numbers, odd line ends, blank starts,
parts that fail to read, and turns that run out of time (issue 13, item 2)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.model import Incoming
from bot.diagnosis import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.evidence import InputError, iter_lines_binary, parse_dump, parse_proc_limits, parse_ps
from bot.evidence.numbers import is_number, to_int
from bot.sizing.rules import DEFAULT_RULES
from tests.conftest import ROOT

LINE = "2026/12/01 10:00:02 [crit] 1235#1235: accept4() failed (24: Too many open files)"
HUGE = "9" * 5000  # past Python's int-conversion limit (4300 digits)


@pytest.mark.parametrize("text", ["²", "①", "፩", "12³5", "٣", "", "-1", "1" * 21, HUGE])
def test_only_short_ascii_digit_runs_are_numbers(text):
    assert to_int(text) is None and not is_number(text)


def test_ascii_numbers_up_to_20_digits_convert():
    assert to_int("9223372036854775807") == 2**63 - 1  # the kernel's unlimited file-max
    assert to_int("0") == 0


def test_a_unicode_digit_in_the_log_prefix_still_matches(matcher):
    line, match = matcher.match_text(LINE.replace("1235#", "12³5#"))
    assert match is not None and match.kb_id == "too-many-open-files"
    assert line.pid is None  # the odd pid is unknown, not a crash


@pytest.mark.parametrize(
    "config",
    [
        "events { worker_connections ①024; }\nhttp { server { listen 8０80; } }",
        f"events {{ worker_connections {HUGE}; }}\nhttp {{ upstream u {{ server a; keepalive ²; }} }}",
        "worker_processes ፩;\nevents {}\nhttp { server { listen [::]:8²; listen 1.2.3.4:" + HUGE + "; } }",
    ],
)
def test_odd_numbers_in_a_config_become_unknown_values(config, kb):
    cfg = parse_dump(config)
    assert all(li.port is None or li.port < 10**20 for li in cfg.listens)
    ev = Collected()
    ev.add_text(config + "\n" + LINE + "\n", _matcher(kb))
    d = diagnose_evidence(ev, kb)
    assert [m.kb_id for m in d.matches] == ["too-many-open-files"]


def _matcher(kb):
    from bot.matching import Matcher

    return Matcher(kb)


def test_odd_digits_in_limits_and_ps_output_do_not_raise():
    limits = "Limit  Soft Limit  Hard Limit  Units\nMax open files  ②0000  " + HUGE + "  files\n"
    try:
        parse_proc_limits(limits)
    except Exception as exc:  # a clear EvidenceError is fine; nothing else
        assert type(exc).__name__ == "EvidenceError"
    ps = "PID PPID USER COMMAND\n፩58 1 root nginx: master process\n" + HUGE + " 1 www nginx: worker process\n"
    try:
        parse_ps(ps)
    except Exception as exc:
        assert type(exc).__name__ == "EvidenceError"


def test_sizing_rounds_numbers_past_float_range():
    n = 10**400
    assert DEFAULT_RULES.round_up(n) >= n  # was OverflowError: integer division result too large for a float


def test_cr_only_line_ends_split_lines(kb, matcher):
    ev = Collected()
    ev.add_text(f"{LINE}\r{LINE}\r", matcher)
    assert ev.grouper.lines == 2
    rows = list(iter_lines_binary(io.BytesIO(f"{LINE}\r{LINE}\r\nx\r".encode()), "t"))
    assert rows == [LINE, LINE, "x"]


def test_a_crlf_split_across_read_chunks_is_one_line_end():
    data = b"a\n" * 32767 + b"b\r\nc\n"  # the CR is the first read's last byte, its LF the next read's first
    assert data.index(b"\r") == (1 << 16) - 1
    rows = list(iter_lines_binary(io.BytesIO(data), "t"))
    assert rows[-3:] == ["a", "b", "c"] and len(rows) == 32769


def test_64k_of_blank_lines_before_the_log_is_not_an_empty_input():
    data = b"\n" * 70_000 + LINE.encode() + b"\n"
    rows = list(iter_lines_binary(io.BytesIO(data), "t"))
    assert len(rows) == 70_001 and rows[-1] == LINE
    with pytest.raises(InputError, match="empty input"):
        list(iter_lines_binary(io.BytesIO(b"\n \t\n" * 30_000), "t"))


def test_a_part_that_fails_to_read_is_a_problem_with_its_place_and_the_rest_is_diagnosed(kb, matcher, monkeypatch):
    import bot.evidence.nginx_config.parse as config_parse

    def broken(*_args, **_kwargs):
        raise ValueError("a parser bug")

    monkeypatch.setattr(config_parse, "parse_dump", broken)  # read where ``collect`` imports it on use
    ev = Collected()
    ev.add_text("server {\n  listen 80;\n  location / { root /x; }\n}\n\n" + LINE + "\n", matcher, "paste 1")
    d = diagnose_evidence(ev, kb)
    assert [m.kb_id for m in d.matches] == ["too-many-open-files"]
    assert any(p.startswith("paste 1 line 1:") and "ValueError" in p for p in d.problems), d.problems


def test_one_line_that_fails_to_match_does_not_sink_the_others(kb, matcher, monkeypatch):
    real = matcher.match_text

    def flaky(raw):
        if "boom" in raw:
            raise RuntimeError("matcher bug")
        return real(raw)

    monkeypatch.setattr(matcher, "match_text", flaky)
    ev = Collected()
    ev.add_log_lines([LINE, "boom", LINE], matcher)
    assert ev.grouper.groups["too-many-open-files"].count == 2
    assert any("RuntimeError" in p and "line 2" in p for p in ev.problems)


def test_a_turn_out_of_time_answers_with_what_it_has_and_says_why(kb, matcher):
    engine = ConversationEngine(kb, matcher, turn_seconds=0.0)
    _state, replies = engine.handle(None, Incoming("t", "u", LINE + "\n", surface="cli"))
    text = "\n".join(r.text for r in replies)
    assert replies and "time was up" in text, text


def test_an_internal_error_exits_3_not_1_and_prints_no_traceback():
    code = (
        "import sys; sys.argv=['nginx-triage','kb','list']\n"
        "import bot.cli.app as a\na._dispatch=lambda args: 1/0\na.main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "internal error: ZeroDivisionError" in proc.stderr and "Traceback" not in proc.stderr


def test_when_the_sniffer_fails_the_log_lines_are_still_matched(kb, matcher, monkeypatch):
    import bot.diagnosis.collect as collect

    def broken(_text):
        raise IndexError("a sniffer bug")

    monkeypatch.setattr(collect, "sniff", broken)
    ev = Collected()
    ev.add_text(LINE + "\n" + LINE + "\n", matcher, "paste 1")
    assert ev.grouper.groups["too-many-open-files"].count == 2
    assert any(p.startswith("paste 1 line 1:") and "IndexError" in p for p in ev.problems)


def test_a_stopped_include_walk_calls_no_file_an_orphan():
    files = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include /etc/nginx/b/0.conf; }\n\n"
    files += "".join(
        f"# configuration file /etc/nginx/b/{i}.conf:\n" + f"include /etc/nginx/b/{i + 1}.conf;\n" * 2 + "\n"
        for i in range(30)
    )
    files += "# configuration file /etc/nginx/b/30.conf:\nkeepalive_timeout 5s;\n\n"
    config = parse_dump(files)
    assert any("stopped reading" in e.message for e in config.errors)
    assert not any("no include in the paste reads" in e.message for e in config.errors)


def test_free_output_with_digits_run_together_is_refused_not_a_crash():
    # found by the fuzz job: the Mem: pattern took one 16-digit run as two numbers, then indexed a third
    from bot.evidence import EvidenceError
    from bot.evidence.backend.host import parse_free

    with pytest.raises(EvidenceError):
        parse_free("Mem:   1234567890123456 7")


FUZZ_FINDS = sorted((ROOT / "tests" / "data" / "fuzz").glob("*.txt"))


@pytest.mark.parametrize("path", FUZZ_FINDS, ids=[p.stem for p in FUZZ_FINDS])
def test_inputs_the_fuzz_job_broke_stay_fixed(path, kb, matcher):
    # engine-22468/62376: a recipe's `let` multiplied a fact the paste left unknown (TypeError);
    # cli-8: a diagnostic command named a fact (facts.expected_name) the matched lines lacked
    from tests.fuzz import engine as fuzz

    fuzz._state.update(kb=kb, matcher=matcher, engine=ConversationEngine(kb, matcher))
    fuzz.run_one(path.read_text(encoding="utf-8", errors="surrogatepass"))
