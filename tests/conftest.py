"""Shared fixtures: the real knowledge base and matcher, built once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeBase, load_kb
from bot.matching.matcher import Matcher

os.environ.setdefault("NGINX_TRIAGE_TEMPLATE_CHECK", "1")
"""Every template the suite renders from its tree is rendered by Jinja2 too, and any
difference fails the test (``bot.knowledge.templates``); CLI and bot processes the tests
start inherit it."""

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(require_builtin_ids=True)


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


@pytest.fixture(scope="session")
def cli() -> list[str]:
    """The installed console script, as a user runs it."""
    exe = ROOT / ".venv" / "bin" / "nginx-triage"
    found = str(exe) if exe.exists() else shutil.which("nginx-triage")
    assert found, "nginx-triage is not installed: run `make test`, which installs it"
    return [found]
