"""The FAQ retrieval index cached beside the compiled KB: same answers, no bm25s/numpy when warm,
never stale, a broken file ignored and rewritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.faq.answer import FaqIndex
from bot.faq.index_cache import cached_index, index_file
from bot.faq.retrieval import Bm25Index
from bot.knowledge import kb_cache
from bot.knowledge.loader import load_kb
from tests.conftest import ROOT

QUESTIONS = ["how do I reload nginx", "what does 499 mean", "worker_conections not enough", "upstream timed out 504"]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kb_cache, "_memo", {})
    return tmp_path / "nginx-triage"


def _ranked(index: Bm25Index, question: str) -> list[tuple[str, float]]:
    return [(r.doc.id, r.score) for r in index.rank(question)[1]]


def test_the_cached_index_ranks_as_a_freshly_built_one(cache_home: Path) -> None:
    kb = kb_cache.cached_kb()
    built = cached_index(kb)  # built and stored
    path = index_file(kb_cache.cached_key(kb) or "")
    assert path.is_file() and path.parent == cache_home
    read = cached_index(kb)  # read back
    assert read is not built
    fresh = Bm25Index(load_kb())
    for question in QUESTIONS:
        assert _ranked(read, question) == _ranked(fresh, question) == _ranked(built, question)
        assert FaqIndex(kb).ask(question) == FaqIndex(load_kb()).ask(question)


def test_a_kb_not_from_the_cache_gets_a_fresh_index_and_writes_nothing(cache_home: Path) -> None:
    cached_index(load_kb())
    assert not (cache_home.exists() and list(cache_home.glob("faq-*.pickle")))


def test_a_corrupt_index_file_is_ignored_and_rewritten(cache_home: Path) -> None:
    kb = kb_cache.cached_kb()
    cached_index(kb)
    path = index_file(kb_cache.cached_key(kb) or "")
    path.write_bytes(b"not a pickle")
    index = cached_index(kb)
    assert _ranked(index, QUESTIONS[0]) == _ranked(Bm25Index(load_kb()), QUESTIONS[0])
    assert path.read_bytes() != b"not a pickle"


def test_a_warm_ask_imports_neither_bm25s_nor_numpy(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = (
        "import sys\n"
        "from bot.faq.answer import FaqIndex\n"
        "from bot.knowledge.kb_cache import cached_kb\n"
        "print(FaqIndex(cached_kb()).ask('how do I reload nginx').id)\n"
        "print(sorted(m for m in ('bm25s', 'numpy') if m in sys.modules))"
    )
    cold = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert cold.stdout.splitlines()[0] == warm.stdout.splitlines()[0]
    assert cold.stdout.splitlines()[1] == "['bm25s', 'numpy']"
    assert warm.stdout.splitlines()[1] == "[]"
