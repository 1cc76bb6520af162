"""The labelled real-world corpus holds the accuracy bar (>= 95%), through the library and
through the installed command exactly as ``eval_corpus.py`` drives it."""

from __future__ import annotations

import json
import subprocess

import yaml

from bot.evidence.errorlog import parse_line
from tests.conftest import DATA

CORPUS = yaml.safe_load((DATA / "loglines-dev.yaml").read_text(encoding="utf-8"))
BAR = 0.95


def _score(predicted: list[str | None]) -> tuple[float, list[str]]:
    right = scored = 0
    misses = []
    for item, got in zip(CORPUS, predicted, strict=True):
        if item["kb_id"] == "any":
            continue
        scored += 1
        if got == item["kb_id"]:
            right += 1
        else:
            misses.append(f"want {item['kb_id']} got {got}: {item['line'][:100]}")
    return right / scored, misses


def test_corpus_accuracy_library(matcher):
    predicted = []
    for item in CORPUS:
        m = matcher.match(parse_line(item["line"].replace("\n", " ")))
        predicted.append(m.kb_id if m else None)
    accuracy, misses = _score(predicted)
    assert accuracy >= BAR, "\n".join(misses)


def test_corpus_accuracy_cli(cli):
    text = "".join(it["line"].replace("\n", " ") + "\n" for it in CORPUS)
    proc = subprocess.run(
        [*cli, "match", "--format", "jsonl"], input=text, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(CORPUS)
    assert [r["line_no"] for r in rows] == list(range(1, len(CORPUS) + 1))
    accuracy, misses = _score([r["kb_id"] for r in rows])
    assert accuracy >= BAR, "\n".join(misses)


def test_held_out_variants(matcher):
    """Other wordings of the same classes (never used as KB examples) hold the same bar."""
    variants = yaml.safe_load((DATA / "loglines-variants.yaml").read_text(encoding="utf-8"))
    right, misses = 0, []
    for item in variants:
        m = matcher.match(parse_line(item["line"]))
        got = m.kb_id if m else None
        if got == item["kb_id"]:
            right += 1
        else:
            misses.append(f"want {item['kb_id']} got {got}: {item['line'][:110]}")
    assert right / len(variants) >= BAR, "\n".join(misses)
