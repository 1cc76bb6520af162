"""Which files each ``include`` reads, which includes form a loop, and the walk's budgets.

nginx expands an include every time it meets it, so a snippet included in a hundred
locations is read a hundred times; the walk must do the same. A real ``nginx -T`` never
holds an include loop (``nginx -t`` fails first), yet a pasted one can: a glob that matches
its own file, a ring of files. Followed naively, nine files that each include
``conf.d/*.conf`` expand factorially and a chain of a thousand files exhausts the stack.
So the include graph is resolved once per pattern, its loops are found before the walk
(strongly connected components), an include inside a loop reads each file of the loop at
most once, and depth, file count and total expanded directives are bounded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.evidence.nginx_config.glob_match import compile_glob

MAX_INCLUDE_DEPTH = 64
"""Files nested in files; real configurations use a handful."""
MAX_BLOCK_DEPTH = 64
"""Blocks nested in blocks within the walk (http > server > location > if ... is about 6)."""
MAX_INCLUDED_FILES = 50_000
"""File reads by ``include`` in one walk."""
MIN_EXPANDED = 10_000
EXPANSION_FACTOR = 8
MAX_EXPANDED = 2_000_000
"""Directives the walk records: ``EXPANSION_FACTOR`` times those in the dump, at least
``MIN_EXPANDED`` and never more than ``MAX_EXPANDED`` (snippets legitimately repeat)."""


def iter_statements(stmts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every statement of one file, blocks included, without recursion (nesting may be deep)."""
    stack = [iter(stmts)]
    while stack:
        for stmt in stack[-1]:
            yield stmt
            block = stmt.get("block")
            if block:
                stack.append(iter(block))
                break
        else:
            stack.pop()


@dataclass
class IncludeGraph:
    """Targets of every include pattern and the include edges that close a loop."""

    parsed: dict[str, list[dict[str, Any]]]
    prefix: str | None
    by_dir: dict[str, list[str]] = field(default_factory=dict)
    targets: dict[str, list[str] | None] = field(default_factory=dict)
    """Pattern -> files it reads in nginx's order; None when it names a file not in the dump."""
    component: dict[str, int] = field(default_factory=dict)
    """File -> id of its strongly connected component; files of one loop share an id."""
    edges: dict[str, list[str]] = field(default_factory=dict)
    """File -> files its includes read, in order (repeats kept)."""
    statements: int = 0

    def __post_init__(self) -> None:
        for path in self.parsed:
            self.by_dir.setdefault(os.path.dirname(path), []).append(path)
        edges = self.edges
        for path, stmts in self.parsed.items():
            out: list[str] = []
            for stmt in iter_statements(stmts):
                self.statements += 1
                if stmt["directive"] == "include" and stmt["args"]:
                    out.extend(self.resolve(stmt["args"][0]) or ())
            edges[path] = out
        self.component = _components(edges)

    def resolve(self, pattern: str) -> list[str] | None:
        """Files of the dump that ``include pattern`` reads (cached per pattern)."""
        if pattern not in self.targets:
            self.targets[pattern] = self._resolve(pattern)
        return self.targets[pattern]

    def _resolve(self, pattern: str) -> list[str] | None:
        if not os.path.isabs(pattern) and self.prefix is not None:
            pattern = os.path.normpath(os.path.join(self.prefix, pattern))
        if any(c in pattern for c in "*?["):
            rx = compile_glob(pattern)
            folder = os.path.dirname(pattern)
            pool = self.by_dir.get(folder, []) if not any(c in folder for c in "*?[") else list(self.parsed)
            hits = [p for p in pool if rx.match(p)]
            if not hits and self.prefix is None:
                tail = compile_glob("*/" + pattern.lstrip("/"))
                hits = [p for p in self.parsed if tail.match(p)]
            return hits
        if pattern in self.parsed:
            return [pattern]
        if self.prefix is None or not os.path.isabs(pattern):
            suffix = "/" + pattern.lstrip("/")
            hits = [p for p in self.parsed if p.endswith(suffix)]
            if hits:
                return hits[:1]
        return None

    def reachable(self, start: str, known: set[str]) -> set[str]:
        """``start`` and every file its includes read, directly or not, short of ``known`` ones."""
        seen = {start} | known
        todo = [start]
        while todo:
            for nxt in self.edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen - known

    def in_loop(self, source: str, target: str) -> bool:
        """True when ``source`` including ``target`` closes a loop (target reaches source back)."""
        return source == target or self.component.get(source) == self.component.get(target, -1)

    def expansion_budget(self) -> int:
        """How many directives the walk may record for this dump."""
        return min(MAX_EXPANDED, max(MIN_EXPANDED, EXPANSION_FACTOR * self.statements))


def _components(edges: dict[str, list[str]]) -> dict[str, int]:
    """Tarjan's strongly connected components, iteratively (a chain may be thousands long)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            recurse = False
            while pos < len(succ):
                nxt = succ[pos]
                pos += 1
                if nxt not in index:
                    work.append((node, pos))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return component
