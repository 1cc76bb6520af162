"""A partial `nginx -T` never yields a diff (issue 10): the answer says what is missing and
asks for the whole `sudo nginx -T 2>&1`, whichever door the dump came through (a paste, a
file upload or Slack snippet, the terminal chat)."""

from __future__ import annotations

import re

import pytest

from bot.conversation.engine import ConversationEngine
from bot.conversation.model import Incoming, IncomingFile
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from tests.conftest import DATA

DUMP = (DATA / "nginx-T" / "multi-include.txt").read_text(encoding="utf-8")
ALERT = "2026/11/26 00:46:54 [alert] 12520#12520: *71 1024 worker_connections are not enough\n"
TARGET = 20_000
"""Peak concurrency that makes the worker_connections of the fixture too small, so a diff is due."""

_HEADER = re.compile(r"^# configuration file (?P<path>.+):$", re.MULTILINE)


def _without_file(dump: str, path: str) -> str:
    """The dump with one file's section (header, text and nginx's blank line) taken out."""
    starts = [(m.start(), m.group("path")) for m in _HEADER.finditer(dump)]
    for i, (start, name) in enumerate(starts):
        if name == path:
            end = starts[i + 1][0] if i + 1 < len(starts) else len(dump)
            return dump[:start] + dump[end:]
    raise AssertionError(f"{path} not in the dump")


def _diagnose(kb, matcher, *pastes: str):
    ev = Collected()
    for i, text in enumerate(pastes, 1):
        ev.add_text(text, matcher, f"paste {i}")
    return diagnose_evidence(ev, kb, TARGET)


def test_the_whole_dump_gets_its_diff(kb, matcher):
    d = _diagnose(kb, matcher, ALERT, DUMP)
    assert d.diff and "worker_connections" in d.diff
    assert not any("No diff yet" in p for p in d.problems)


CUTS = {
    # a file cut short: the paste stops inside http { } of a site
    "cut-mid-file": (DUMP[: DUMP.index("location", DUMP.index("api.example.com:"))], "never closes"),
    # an included file missing: fastcgi_params (a plain include; a glob may match nothing) taken out
    "include-missing": (_without_file(DUMP, "/etc/nginx/fastcgi_params"), "not in the paste"),
    # the paste starts at the second file: the main nginx.conf is missing (the terminal bug)
    "main-file-missing": (DUMP[DUMP.index("# configuration file /etc/nginx/mime.types:") :], "main configuration"),
    # braces unbalanced: an extra closing brace in the main file
    "unbalanced": (DUMP.replace("multi_accept on;\n}", "multi_accept on;\n}\n}", 1), 'unexpected "}"'),
}


@pytest.mark.parametrize("name", sorted(CUTS))
def test_a_partial_dump_gets_no_diff_and_says_what_is_missing(kb, matcher, name):
    dump, missing = CUTS[name]
    d = _diagnose(kb, matcher, ALERT, dump)
    assert d.diff == ""
    first = d.problems[0]
    assert first.startswith("No diff yet") and "sudo nginx -T 2>&1" in first, d.problems
    assert missing in first, first
    assert sum(missing in p for p in d.problems) == 1, "what is missing is said once"
    assert not any(c.command.startswith("cd / && patch") for c in d.commands)


def test_the_main_file_missing_puts_nothing_into_mime_types(kb, matcher):
    d = _diagnose(kb, matcher, ALERT, CUTS["main-file-missing"][0])
    assert d.diff == "" and "/etc/nginx/mime.types" in d.problems[0]


@pytest.mark.parametrize("door", ["message", "file"])
def test_every_door_of_the_conversation_applies_the_rule(kb, matcher, door):
    engine = ConversationEngine(kb, matcher)
    state, _ = engine.handle(None, Incoming("t", "u", ALERT))
    state.target_concurrency = TARGET
    partial = CUTS["include-missing"][0]
    incoming = (
        Incoming("t", "u", partial)
        if door == "message"
        else Incoming("t", "u", "", files=(IncomingFile("nginx-T.txt", partial),), surface="file")
    )
    state, [reply] = engine.handle(state, incoming)
    assert reply.kind == "diagnosis" and reply.diagnosis is not None and reply.diagnosis.diff == ""
    assert "No diff yet" in reply.text and "sudo nginx -T 2>&1" in reply.text and "fastcgi_params" in reply.text
    assert not any(a.filename.endswith(".diff") for a in reply.attachments)
    # The whole dump afterwards (a fresh thread, so the partial one is not read first) gets the diff.
    state2, _ = engine.handle(None, Incoming("t2", "u", ALERT))
    state2.target_concurrency = TARGET
    _, [whole] = engine.handle(state2, Incoming("t2", "u", DUMP))
    assert whole.diagnosis is not None and whole.diagnosis.diff
