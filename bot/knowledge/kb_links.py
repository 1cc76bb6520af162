"""KB checks that span files: ids that point at other entries, one default of each kind, and
templates that compile.

The schema validates one file at a time; these checks see the whole KB, so a recipe naming a
guide that does not exist, or a text with a Jinja syntax error, fails ``kb lint`` with its file
and line instead of failing a user's diagnosis later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import TemplateSyntaxError

from bot.knowledge.loader import KnowledgeBase, node_line
from bot.knowledge.templates import text_env

if TYPE_CHECKING:
    pass

Location = tuple[str, Sequence[int | str], str, bool]
"""(kb source key, field path, text, is an expression)."""


def _templates(kb: KnowledgeBase) -> Iterator[Location]:
    for cid, catalog in kb.texts.items():
        for key, text in catalog.texts.items():
            yield f"texts/{cid}", ("texts", key), text, False
    for fid, finding in kb.findings.items():
        yield f"findings/{fid}", ("message",), finding.message, False
        for i, item in enumerate(finding.evidence):
            if isinstance(item, str):  # not an EachFact
                yield f"findings/{fid}", ("evidence", i), item, False
    yield from _recipe_templates(kb)
    yield from _diagnostic_templates(kb)
    for gid, guide in kb.guides.items():
        for i, step in enumerate(guide.steps):
            yield f"guides/{gid}", ("steps", i, "explain"), step.explain, False
            for key, text in step.say.items():
                yield f"guides/{gid}", ("steps", i, "say", key), text, False
            for j, variant in enumerate(step.variants):
                yield f"guides/{gid}", ("steps", i, "variants", j, "when"), variant.when, True
                for name in ("title", "body", "command", "expect"):
                    yield f"guides/{gid}", ("steps", i, "variants", j, name), getattr(variant, name), False


def _recipe_templates(kb: KnowledgeBase) -> Iterator[Location]:
    for rid, recipe in kb.recipes.items():
        for name, expression in recipe.let.items():
            yield f"recipes/{rid}", ("let", name), expression, True
        for i, change in enumerate(recipe.changes):
            yield f"recipes/{rid}", ("changes", i, "directive"), change.directive, False
            yield f"recipes/{rid}", ("changes", i, "why"), change.why, False
            for name in ("value", "current", "when", "at", "each"):
                if getattr(change, name) is not None:
                    yield f"recipes/{rid}", ("changes", i, name), getattr(change, name), True
        for i, check in enumerate(recipe.checks):
            for name in ("purpose", "command"):
                yield f"recipes/{rid}", ("checks", i, name), getattr(check, name), False
            yield f"recipes/{rid}", ("checks", i, "when"), check.when, True


def _diagnostic_templates(kb: KnowledgeBase) -> Iterator[Location]:
    for eid, entry in kb.errors.items():
        for i, diag in enumerate(entry.diagnostics):
            if diag.template:
                yield f"errors/{eid}", ("diagnostics", i, "command"), diag.command, False
                yield f"errors/{eid}", ("diagnostics", i, "when"), diag.when, True


def check_template_syntax(kb: KnowledgeBase) -> list[str]:
    """Every KB template and expression compiles in the sandboxed text environment."""
    problems: list[str] = []
    for key, loc, text, expression in _templates(kb):
        try:
            if expression:
                text_env().compile_expression(text)
            else:
                text_env().parse(text)
        except TemplateSyntaxError as exc:
            path = kb.sources.get(key)
            line = node_line(path, loc) if path else None
            field = ".".join(str(p) for p in loc)
            problems.append(f"{path or key}:{line or 1}: {field}: Jinja2 syntax: {exc.message}")
    return problems


def _where(kb: KnowledgeBase, key: str, loc: Sequence[int | str]) -> str:
    path: Path | None = kb.sources.get(key)
    if path is None:
        return key
    return f"{path}:{node_line(path, loc) or 1}: {'.'.join(str(p) for p in loc)}"


def check_links(kb: KnowledgeBase) -> list[str]:
    """Ids that name other KB entries exist; exactly one default environment and guide."""
    problems = check_template_syntax(kb)
    for eid, entry in kb.errors.items():
        for i, rid in enumerate(entry.recipes):
            if rid not in kb.recipes:
                problems.append(f"{_where(kb, f'errors/{eid}', ('recipes', i))}: unknown recipe {rid!r}")
    for fid, finding in kb.findings.items():
        for i, rid in enumerate(finding.recipes):
            recipe = kb.recipes.get(rid)
            if recipe is None or recipe.facts != "finding":
                what = "unknown recipe" if recipe is None else "recipe without `facts: finding`"
                problems.append(f"{_where(kb, f'findings/{fid}', ('recipes', i))}: {what} {rid!r}")
    for name, evidence in kb.evidence.items():
        problems += [
            f"kb/evidence.yaml: {name}: proven_by: unknown kind {o!r}"
            for o in evidence.proven_by
            if o not in kb.evidence
        ]
    commands = {key for env in kb.environments.values() for key in env.commands}
    for rid, recipe in kb.recipes.items():
        if recipe.guide is not None and recipe.guide not in kb.guides:
            problems.append(f"{_where(kb, f'recipes/{rid}', ('guide',))}: unknown guide {recipe.guide!r}")
        for i, verify in enumerate(recipe.verify):
            if verify.command not in commands:
                where = _where(kb, f"recipes/{rid}", ("verify", i, "command"))
                problems.append(f"{where}: no environment has a command {verify.command!r}")
    for kind, entries in (("environments", kb.environments), ("guides", kb.guides)):
        defaults = [i for i, e in entries.items() if getattr(e, "default", False)]
        if entries and len(defaults) != 1:
            problems.append(f"kb/{kind}: exactly one entry must say `default: true`, found {defaults or 'none'}")
    return problems
