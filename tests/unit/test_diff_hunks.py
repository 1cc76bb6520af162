"""The diff's hunks: exactly difflib's when nothing is redacted; otherwise no context line holds
the placeholder and the context is as long on both sides (but at the file's ends), so GNU patch
applies them without fuzz (tests/integration/test_redaction_cli.py applies one for real)."""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.diagnosis.diff_hunks import unified_diff
from bot.evidence.redaction import REDACTED

_LINE = st.sampled_from([f"l{i}\n" for i in range(6)] + [f"x {REDACTED};\n"])


def _edit(old: list[str], ops: list[tuple[int, int, str]]) -> list[str]:
    new = list(old)
    for kind, at, text in ops:
        if not new and kind != 0:
            continue
        at %= len(new) + (1 if kind == 0 else 0) or 1
        if kind == 0:
            new.insert(at, text)
        elif kind == 1:
            del new[at]
        else:
            new[at] = text
    return new


_OPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 60), st.sampled_from(["new 1\n", "new 2\n"])), max_size=4)


@settings(max_examples=300, deadline=None)
@given(old=st.lists(st.sampled_from([f"l{i}\n" for i in range(6)]), max_size=40), ops=_OPS)
def test_without_redacted_lines_the_hunks_are_difflibs(old: list[str], ops: list[tuple[int, int, str]]) -> None:
    new = _edit(old, ops)
    expected = ["--- f\n", "+++ f\n", *list(difflib.unified_diff(old, new, "f", "f", n=3))[2:]] if old != new else []
    assert unified_diff(old, new, "f", lambda line: REDACTED in line) == expected


def _apply(old: list[str], diff: list[str]) -> list[str]:
    """Apply a unified diff strictly (every context and removed line must match exactly)."""
    out: list[str] = []
    pos = 0
    i = 2
    while i < len(diff):
        header = diff[i]
        start = int(header.split()[1][1:].split(",")[0])
        count = int(header.split()[1].split(",")[1]) if "," in header.split()[1] else 1
        begin = start - 1 if count else start
        out += old[pos:begin]
        pos = begin
        i += 1
        while i < len(diff) and not diff[i].startswith("@@"):
            tag, line = diff[i][0], diff[i][1:]
            if tag in " -":
                assert old[pos] == line, "context or removed line does not match the file"
                pos += 1
            if tag in " +":
                out.append(line)
            i += 1
    return out + old[pos:]


@settings(max_examples=400, deadline=None)
@given(old=st.lists(_LINE, max_size=40), ops=_OPS)
def test_no_context_line_is_redacted_and_the_diff_still_applies(
    old: list[str], ops: list[tuple[int, int, str]]
) -> None:
    new = _edit(old, ops)
    diff = unified_diff(old, new, "f", lambda line: REDACTED in line)
    assert not any(line.startswith(" ") and REDACTED in line for line in diff)
    assert _apply(old, diff) == new


def test_context_is_cut_on_both_sides_when_a_secret_is_near() -> None:
    old = ["user www-data;\n", f"env KEY={REDACTED};\n", "events {\n", "    worker_connections 768;\n", "}\n", "\n"]
    new = [*old[:3], "    worker_connections 2048;\n", *old[4:]]
    assert unified_diff(old, new, "f", lambda line: REDACTED in line) == [
        "--- f\n",
        "+++ f\n",
        "@@ -3,3 +3,3 @@\n",
        " events {\n",
        "-    worker_connections 768;\n",
        "+    worker_connections 2048;\n",
        " }\n",
    ]
