"""The error-log parser peels wrappers and reads the nginx prefix and context."""

from __future__ import annotations

import pytest

from bot.evidence.errorlog import parse_line

BASE = (
    "2024/08/14 14:25:00 [error] 9#9: *16 connect() failed (111: Connection refused) while "
    'connecting to upstream, client: 172.22.222.5, server: , request: "GET /a HTTP/1.1", '
    'upstream: "http://[::1]:8000/a", host: "safeline-mgt"'
)


def test_full_prefix_and_context():
    line = parse_line(BASE)
    assert (line.time, line.level, line.pid, line.tid, line.cid) == ("2024/08/14 14:25:00", "error", 9, 9, 16)
    assert line.errno == 111 and line.errno_text == "Connection refused"
    assert line.action == "connecting to upstream"
    assert line.context == {
        "client": "172.22.222.5",
        "server": "",
        "request": "GET /a HTTP/1.1",
        "upstream": "http://[::1]:8000/a",
        "host": "safeline-mgt",
    }
    assert line.message.startswith("connect() failed")


@pytest.mark.parametrize(
    "wrapper",
    [
        "nginx.1    | ",
        "web_1    | 2020-07-11T12:44:05.894779100Z ",
        "2026-05-12T21:01:40.544795796Z stderr F ",
        "2016-11-06T17:22:32.324808484Z ",
        "Feb 04 16:02:05 hpos nginx[639]: ",
        "Oct 13 02:25:57 host error.log ",
        "2015-11-28 09:46:25.676384500  ",
        "> ",
        "[pod/ingress-nginx-controller-7d9f/controller] ",
    ],
)
def test_wrappers_are_stripped(wrapper):
    line = parse_line(wrapper + BASE)
    assert line.time == "2024/08/14 14:25:00"
    assert line.pid == 9 and line.cid == 16 and line.errno == 111
    assert line.message.startswith("connect() failed")


@pytest.mark.parametrize(
    ("raw", "level", "pid", "message"),
    [
        ("[emerg]: bind() to 0.0.0.0:80 failed (98: Address already in use)", "emerg", None, "bind()"),
        ("[alert] 843#843: 1024 worker_connections are not enough", "alert", 843, "1024 worker"),
        ("85#85: *7 upstream timed out (110: Operation timed out)", None, 85, "upstream timed out"),
        (
            'nginx: [emerg] host not found in upstream "app" in /etc/nginx/conf.d/x.conf:26',
            "emerg",
            None,
            "host not found",
        ),
        ("error] 12483#0: *253 upstream prematurely closed connection", "error", 12483, "upstream prematurely"),
        ("1706 # 1706: * 795218 connect () to unix: /run/php.sock failed", None, 1706, "connect ()"),
    ],
)
def test_partial_and_old_prefixes(raw, level, pid, message):
    line = parse_line(raw)
    assert line.level == level and line.pid == pid
    assert line.message.startswith(message)


def test_console_form_is_flagged():
    assert parse_line('nginx: [emerg] unknown directive "foo" in /etc/nginx/nginx.conf:3').console


def test_stream_tail():
    line = parse_line(
        "2024/01/01 00:00:00 [error] 1#1: *3 upstream timed out (110: Connection timed out) "
        "while connecting to upstream, client: 10.0.0.1, server: 0.0.0.0:8480, "
        'upstream: "10.0.0.2:8480", bytes from/to client:0/0, bytes from/to upstream:0/0'
    )
    assert line.context["upstream"] == "10.0.0.2:8480"
    assert line.context["bytes_client"] == "0/0"


def test_overlong_line_is_cut_not_refused():
    line = parse_line("2024/01/01 00:00:00 [error] 1#1: " + "x" * 100_000)
    assert len(line.raw) <= 8192 and line.level == "error"


def test_inside_parsing_once_a_line_is_parsed_once_and_the_memo_ends_with_the_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.evidence.errorlog as errorlog

    raw = "2026/11/26 00:46:55 [alert] 12520#12520: *7 1024 worker_connections are not enough"
    calls: list[str] = []
    parse = errorlog._parse_line
    monkeypatch.setattr(errorlog, "_parse_line", lambda line: calls.append(line) or parse(line))
    monkeypatch.setattr(errorlog, "PARSED_ONCE_BOUND", 2)
    with errorlog.parsing_once():
        first = errorlog.parse_line(raw)
        assert errorlog.parse_line(raw) is first and first == parse(raw)
        for n in range(3):  # past the bound: parsed every time, never refused
            errorlog.parse_line(f"{raw} {n}")
            errorlog.parse_line(f"{raw} {n}")
    assert calls == [raw, f"{raw} 0", f"{raw} 1", f"{raw} 1", f"{raw} 2", f"{raw} 2"]
    calls.clear()
    assert errorlog.parse_line(raw) is not first and calls == [raw]  # outside: no memo
