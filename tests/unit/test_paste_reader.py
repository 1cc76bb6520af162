"""How the terminal chat cuts input into messages (bot/cli/paste.py), for piped input and for
a terminal's bracketed pastes: a raw `nginx -T` with blank lines stays one message."""

from __future__ import annotations

import io

from bot.cli.paste import PASTE_END, PASTE_START, MessageReader, is_config_line, open_braces
from tests.conftest import DATA

DUMP = (DATA / "nginx-T" / "multi-include.txt").read_text(encoding="utf-8").strip()
ALERT = "2026/11/26 00:46:54 [alert] 12520#12520: *71 1024 worker_connections are not enough"


def messages(text: str, *, tty: bool = False) -> list[str]:
    reader = MessageReader(io.StringIO(text), tty=tty)
    out = []
    for _ in range(100):
        message = reader.read()
        if message is None:
            return out
        out.append(message)
    raise AssertionError("the reader never reached the end of input")


def test_a_raw_multi_file_dump_with_blank_lines_is_one_message():
    assert "\n\n" in DUMP and DUMP.count("# configuration file") > 3
    got = messages(f"{ALERT}\n\n{DUMP}\n\n1\n\ndone\n")
    assert got == [ALERT, DUMP, "1", "done"]


def test_the_dump_ends_where_something_that_is_not_configuration_follows():
    got = messages(f"{DUMP}\n\nwhy does a proxied request use two connections?\n")
    assert got == [DUMP, "why does a proxied request use two connections?"]


def test_a_truncated_dump_ends_at_the_next_typed_answer():
    cut = DUMP[: DUMP.index("location", DUMP.index("api.example.com:"))].rstrip()
    assert open_braces(cut.splitlines()) > 0
    assert messages(f"{cut}\n\ndone\n") == [cut, "done"]


def test_a_bare_config_file_with_top_level_blank_lines_stays_whole():
    conf = (
        "user www-data;\nworker_processes auto;\n\n"
        "events {\n    worker_connections 768;\n}\n\nhttp {\n    sendfile on;\n}"
    )
    assert messages(conf + "\n\n1\n") == [conf, "1"]


def test_a_fence_runs_to_its_closing_fence():
    fenced = f"```\n{ALERT}\n\n{DUMP}\n```"
    assert messages(fenced + "\n\nquit\n") == [fenced, "quit"]
    assert messages("```one line```\nnext\n") == ["```one line```", "next"]


def test_bracketed_paste_through_a_pipe_is_one_message():
    text = f"{PASTE_START}{ALERT}\n\n\n{DUMP}\n{PASTE_END}\n\n2\n"
    assert messages(text) == [f"{ALERT}\n\n\n{DUMP}", "2"]


def test_in_a_terminal_a_paste_is_sent_by_its_end_and_a_typed_line_by_enter():
    pasted = f"{PASTE_START}{DUMP}\n{PASTE_END}\n"
    assert messages(pasted + "1\nquit\n", tty=True) == [DUMP, "1", "quit"]


def test_in_a_terminal_an_unfinished_paste_waits_for_the_rest():
    first, rest = "events {\n    worker_connections 1024;", "}\nhttp {\n}"
    calls: list[int] = []
    reader = MessageReader(
        io.StringIO(f"{PASTE_START}{first}{PASTE_END}\n{PASTE_START}{rest}{PASTE_END}\ndone\n"),
        tty=True,
        on_open=lambda: calls.append(1),
    )
    assert reader.read() == f"{first}\n{rest}"
    assert calls == [1] and reader.read() == "done"
    # Pressing Enter on an empty line sends an unfinished paste as it is.
    reader = MessageReader(io.StringIO(f"{PASTE_START}{first}{PASTE_END}\n\nnext\n"), tty=True)
    assert reader.read() == first and reader.read() == "next"


def test_what_counts_as_configuration():
    assert is_config_line("# configuration file /etc/nginx/nginx.conf:")
    assert is_config_line("    worker_connections 1024;  # per worker") and is_config_line("}")
    assert not is_config_line("1") and not is_config_line("done") and not is_config_line(ALERT)
    assert not is_config_line("Max open files            1024                 524288               files")
    assert open_braces(['log_format main "{ $remote_addr }";', ALERT + ' request: "GET /{"']) == 0


def test_reading_is_bounded_and_ends_at_end_of_input():
    assert messages("") == [] and messages("\n\n\n") == []
    assert messages("events {\n") == ["events {"]
