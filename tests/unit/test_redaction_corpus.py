"""The redaction corpus: 96 secrets planted, each with its own marker, in one realistic paste (an
error log, an access log, ``nginx -T`` with every included file, key files, a curl session, a
Kubernetes Secret). Every marker goes; ordinary configuration stays byte for byte; the
redacted paste reads the same (sections, directives, lines) as the raw one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.evidence import Directive, parse_dump, sniff
from bot.evidence.redaction import REDACTED, redact_intake
from bot.evidence.redaction.summary import labels, summary

DATA = Path(__file__).resolve().parents[1] / "data" / "redaction"
PASTE = (DATA / "nginx-T-secrets.txt").read_text(encoding="utf-8")
INDEX: dict[str, Any] = yaml.safe_load((DATA / "secrets.yaml").read_text(encoding="utf-8"))
MARKERS = [s["marker"] for s in INDEX["secrets"]]
MARKER_SHAPE = re.compile(r"mk\d\dZq|ace1\d\dace")


def test_the_corpus_plants_at_least_60_distinct_secrets_each_listed_once() -> None:
    assert len(MARKERS) >= 60
    assert len(set(MARKERS)) == len(MARKERS)
    assert sorted(set(MARKER_SHAPE.findall(PASTE))) == sorted(MARKERS)
    assert all(s["form"].strip() for s in INDEX["secrets"])


REDACTED_PASTE = redact_intake(PASTE)


@pytest.mark.parametrize("marker", MARKERS)
def test_every_planted_secret_is_masked(marker: str) -> None:
    assert marker in PASTE
    assert marker not in REDACTED_PASTE.text


@pytest.mark.parametrize("line", INDEX["keep"])
def test_ordinary_configuration_stays_byte_for_byte(line: str) -> None:
    assert line in PASTE.splitlines()
    assert line in REDACTED_PASTE.text.splitlines()


def _shape(d: Directive) -> tuple[str, str, int, tuple[str, ...], int]:
    """What must not move: name, file, line, enclosing blocks, argument count. A ``map`` entry's
    name is its key and a block's label holds its arguments, either of which may be the secret."""
    entry = bool(d.context) and d.context[-1].startswith("map ")
    blocks = tuple(c.split(" ", 1)[0] for c in d.context)
    return ("<entry>" if entry else d.name, d.file, d.line, blocks, len(d.args))


def test_the_redacted_paste_has_the_same_lines_sections_and_directives() -> None:
    text = REDACTED_PASTE.text
    assert text.count("\n") == PASTE.count("\n")
    assert [(s.kind, s.start_line, s.end_line) for s in sniff(text)] == [
        (s.kind, s.start_line, s.end_line) for s in sniff(PASTE)
    ]
    raw_dump = next(s for s in sniff(PASTE) if s.kind == "nginx-T").text
    clean_dump = next(s for s in sniff(text) if s.kind == "nginx-T").text
    raw, clean = parse_dump(raw_dump), parse_dump(clean_dump)
    assert [_shape(d) for d in clean.directives] == [_shape(d) for d in raw.directives]
    assert [str(e) for e in clean.errors] == [str(e) for e in raw.errors]
    assert list(clean.files) == list(raw.files)


def test_redacting_the_redacted_paste_changes_nothing() -> None:
    again = redact_intake(REDACTED_PASTE.text)
    assert again.text == REDACTED_PASTE.text and again.count == 0


def test_what_was_masked_is_named_never_shown() -> None:
    words = labels(REDACTED_PASTE.masked)
    for secret in INDEX["secrets"]:
        if "label" in secret:
            assert any(w == secret["label"] or w.startswith(secret["label"] + " ×") for w in words), secret
    said = summary(REDACTED_PASTE.masked)
    assert said.startswith(f"masked {REDACTED_PASTE.count} secrets (")
    assert not MARKER_SHAPE.search(" ".join(words) + said)
    assert all(m.name == "" or REDACTED not in m.name for m in REDACTED_PASTE.masked)


def test_the_summary_reads_as_the_issue_asks() -> None:
    text = 'proxy_set_header Cookie "a=b1";\nenv STRIPE_KEY=sk_live_0123456789abcdef;\nproxy_pass http://u:p@ss@h;\n'
    assert (
        summary(redact_intake(text).masked) == "masked 3 secrets (Cookie header, env STRIPE_KEY, basic auth in a URL)"
    )
