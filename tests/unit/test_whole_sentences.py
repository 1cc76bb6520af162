"""Nothing the conversation shortens is cut mid-sentence (issue 10): the terminal chat's fix
text once ended "... add backend capacity. 2." because list numbers were read as sentences."""

from __future__ import annotations

import re

import pytest

from bot.conversation.texts import _blocks, first_sentences
from bot.diagnosis.build import render_fix

_BARE_MARKER = re.compile(r"^(?:\d{1,3}[.)]|[-*•])$")

FACTS = [
    {},
    {"action": "reading response header from upstream", "upstream": "http://127.0.0.1:8080/"},
    {"action": "connecting to upstream", "upstream": "fastcgi://unix:/run/php/php8.2-fpm.sock:"},
]


def _assert_whole(source: str, short: str) -> None:
    blocks = _blocks(source)
    lines = short.split("\n")
    assert lines and lines[0], "the first sentence is always kept"
    for i, line in enumerate(lines):
        assert not _BARE_MARKER.match(line.strip()), f"a bare list marker: {short!r}"
        block = blocks[i]
        assert line == block or (block.startswith(line) and line[-1] in ".!?:"), (line, block)


@pytest.mark.parametrize("limit", [120, 300, 450, 600, 900])
def test_every_fix_and_meaning_is_shortened_at_a_sentence_or_item(kb, limit):
    for entry in kb.errors.values():
        for facts in FACTS:
            fix = render_fix(entry, facts, 3)
            _assert_whole(fix, first_sentences(fix, limit))
        _assert_whole(entry.meaning, first_sentences(entry.meaning, limit))


def test_the_timeout_fix_keeps_whole_numbered_steps(kb):
    fix = render_fix(kb.errors["upstream-timed-out"], FACTS[1], 3)
    short = first_sentences(fix, 600)
    assert "add backend capacity." in short
    assert not short.rstrip().endswith("2.")
    assert "\n1. Find the slow requests first" in short


def test_abbreviations_are_not_sentence_ends():
    text = "Raise it where needed, e.g. in the upload location. Then reload."
    assert first_sentences(text, 30) == "Raise it where needed, e.g. in the upload location."


def test_soft_wrapped_lines_join_and_items_stay_apart():
    text = (
        "nginx gave up waiting\nfor the upstream.\n1. Check the backend.\n2. Raise the timeout\n   only where needed."
    )
    assert _blocks(text) == [
        "nginx gave up waiting for the upstream.",
        "1. Check the backend.",
        "2. Raise the timeout only where needed.",
    ]
    assert first_sentences(text, 70) == "nginx gave up waiting for the upstream.\n1. Check the backend."


def test_a_reply_too_long_for_slack_is_cut_at_a_sentence_end(kb):
    from bot.conversation.texts import TEXT_LIMIT, fit

    answer = kb.faqs["reload-or-restart"].answer  # soft-wrapped lines, lists and code
    text = "\n".join([answer] * 4)
    assert len(text) > TEXT_LIMIT
    body, files = fit(text)
    head = body[: body.index("\n\n(") if "\n\n(" in body else len(body)].rstrip()
    assert len(body) <= TEXT_LIMIT and files and files[0].content == text
    assert head[-1] in ".!?:)`*" or head.endswith("```"), head[-80:]
