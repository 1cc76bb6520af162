"""The engine starts no process and writes to no terminal: pools and printing live in the front doors.

The Slack bot is multi-threaded (forking it is unsafe) and answers in Slack, not on a
terminal; so every stage from the knowledge base to the conversation takes data and returns
data. A process pool comes in as an injected ``Mapper`` (``bot.cli.parallel.process_map``),
output leaves through ``bot/cli`` and ``bot/slack``. Checked on the source with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

ENGINE = (
    "knowledge",
    "evidence",
    "matching",
    "grouping",
    "sizing",
    "diagnosis",
    "render",
    "conversation",
    "faq",
    "native",
)
"""Every package of ``bot/`` but the front doors (``cli``, ``slack``) and the store they use."""

_PROCESS_MODULES = ("multiprocessing", "concurrent.futures", "subprocess", "threading", "pty")
_STREAMS = ("stdout", "stderr", "__stdout__", "__stderr__")


def effects(source: str) -> list[str]:
    """``line: what`` for every process start or terminal write in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if a.name.startswith(_PROCESS_MODULES)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_PROCESS_MODULES):
            found.append(f"{line}: from {node.module} import")
        elif isinstance(node, ast.ImportFrom) and node.module == "rich.console":
            found += [f"{line}: rich Console" for a in node.names if a.name == "Console"]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("print", "Console", "input"):
                found.append(f"{line}: {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in ("print", "fork", "system", "popen", "spawnv"):
                found.append(f"{line}: .{func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in _STREAMS:
            found.append(f"{line}: sys.{node.attr}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def test_engine_packages_start_no_process_and_print_nothing() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for package in ENGINE
        for path in sorted((ROOT / "bot" / package).rglob("*.py"))
        if (found := effects(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"process pools and printing belong in bot/cli or bot/slack: {offenders}"


def test_the_front_door_holds_the_pool() -> None:
    assert effects((ROOT / "bot" / "cli" / "parallel.py").read_text(encoding="utf-8"))


def test_the_check_finds_planted_effects(tmp_path: Path) -> None:
    planted = (
        "import multiprocessing as mp\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import sys\n"
        "from rich.console import Console, Group\n"
        "def f(console):\n"
        "    print('x')\n"
        "    sys.stdout.write('x')\n"
        "    console.print('x')\n"
        "    return Group()\n"
    )
    assert [f.split(":")[0] for f in effects(planted)] == ["1", "2", "4", "6", "7", "8"]
    assert effects("from rich.console import Group\nfrom rich.panel import Panel\n") == []
