"""No import cycle anywhere in ``bot/``, imports inside functions included.

The graph is built from the source with ``ast`` (nothing is imported), so an import
hidden in a function body to dodge a cycle at start-up still counts: it is the same
dependency. Only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
Cycles are the strongly connected components of that graph (Tarjan). ``make lint`` also
runs import-linter's layer contracts (pyproject.toml); this test is the cycle guard that
needs no tool beyond the standard library.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

MAX_MODULE_LINES = 500
"""Packages this guard also keeps under ``MAX_MODULE_LINES`` lines per module (the reshape of
issue 12 brings the rest of ``bot/`` there; widen this when it has)."""


def module_name(path: Path, root: Path) -> str:
    """``root/bot/slack/app.py`` -> ``bot.slack.app``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(package_dir: Path) -> dict[str, Path]:
    """Every module under ``package_dir`` (the package's parent is the import root)."""
    root = package_dir.parent
    return {module_name(p, root): p for p in sorted(package_dir.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for stmt in node.body:
                hidden.update(id(n) for n in ast.walk(stmt))
    return hidden


def imported_names(module: str, path: Path) -> Iterator[tuple[str, ...]]:
    """For each name an import statement anywhere in the module's body brings in: the dotted
    names it may be, most specific first (``from pkg import x``: the module ``pkg.x``, else ``pkg``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hidden = _type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            yield from ((f"{base}.{alias.name}", base) for alias in node.names)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package tree it imports (the nearest existing one for a name)."""
    modules = modules_of(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for candidates in imported_names(name, path):
            target = next((c for c in candidates if c in modules), candidates[-1])
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        # Iterative, so a deep graph cannot hit the recursion limit.
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(graph: dict[str, set[str]], component: list[str]) -> str:
    """One cycle's import edges, for the failure message."""
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in members]
    return "; ".join(edges)


# -- the guard ------------------------------------------------------------------------------------


def test_bot_has_no_import_cycle() -> None:
    graph = import_graph(ROOT / "bot")
    found = cycles(graph)
    assert not found, "import cycles in bot/ (function-level imports count):\n" + "\n".join(
        describe(graph, c) for c in found
    )


def test_every_module_in_bot_stays_small() -> None:
    too_big = {
        str(path.relative_to(ROOT)): lines
        for path in modules_of(ROOT / "bot").values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_big, f"modules over {MAX_MODULE_LINES} lines: {too_big}"


# -- the guard finds what it must -------------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "planted"
    for rel, source in {"__init__.py": "", **files}.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return package


def test_a_planted_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "a.py": "from planted.b import helper\n\nVALUE = helper()\n",
            "b.py": "def helper() -> int:\n    from planted import a  # hidden in a function\n\n    return 1\n",
            "c.py": "from planted import a\n",
        },
    )
    graph = import_graph(package)
    assert graph["planted.b"] == {"planted.a"}
    assert cycles(graph) == [["planted.a", "planted.b"]]
    assert describe(graph, ["planted.a", "planted.b"]) == "planted.a -> planted.b; planted.b -> planted.a"


def test_relative_imports_and_longer_cycles_are_found(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "sub/__init__.py": "",
            "sub/x.py": "from . import y\n",
            "sub/y.py": "from ..z import thing\n",
            "z.py": "def thing() -> None:\n    import planted.sub.x\n",
        },
    )
    assert cycles(import_graph(package)) == [["planted.sub.x", "planted.sub.y", "planted.z"]]


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "a.py": "from planted import b\n",
            "b.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from planted import a\n",
        },
    )
    graph = import_graph(package)
    assert graph["planted.b"] == set()
    assert cycles(graph) == []
