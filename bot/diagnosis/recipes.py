"""Fix recipes (``kb/recipes/*.yaml``) turned into directive changes with file and line.

A recipe says which directive gets which value where; this module evaluates its
expressions against the facts (the sizing result), finds the directive in the pasted
``nginx -T`` (its existing line, or the block it is inserted into) and returns the
recommendations shown to the user and the edits the diff is built from.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from bot.diagnosis.config_diff import Edit
from bot.diagnosis.model import Recommendation
from bot.evidence import Directive, NginxConfig
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.recipes_schema import Change, Recipe
from bot.knowledge.schema import ErrorEntry
from bot.knowledge.templates import evaluate, render_text
from bot.sizing import Recommendation as SizingRecommendation

MAIN = "main"
"""The block name recipes use for nginx's main context (outside every block)."""


def recipes_for(kb: KnowledgeBase, entries: list[ErrorEntry]) -> list[Recipe]:
    """The recipes the matched entries feed, in the entries' order, each once."""
    out: list[Recipe] = []
    for entry in entries:
        for rid in entry.recipes:
            recipe = kb.recipes.get(rid)
            if recipe is not None and recipe not in out:
                out.append(recipe)
    return out


def sizing_facts(rec: SizingRecommendation) -> dict[str, Any]:
    """What a ``facts: sizing`` recipe's expressions see: every field of the result, plus
    ``target_concurrency`` (the demand) and ``capacity`` (the capacity before the change)."""
    facts: dict[str, Any] = {f.name: getattr(rec, f.name) for f in fields(rec)}
    facts["target_concurrency"] = rec.target.value
    facts["capacity"] = rec.capacity_before
    return facts


def _context(block: str) -> tuple[str, ...]:
    return () if block == MAIN else (block,)


def find_directive(config: NginxConfig, name: str, block: str) -> Directive | None:
    """The first ``name`` directly inside ``block`` (``main``: the main context)."""
    context = _context(block)
    return next((d for d in config.find(name) if d.context == context), None)


def _block_file(config: NginxConfig, block: str) -> str:
    """The file a new directive of ``block`` goes into: where the block is, else the main file."""
    if block != MAIN:
        for d in config.directives:
            if d.name == block:
                return d.file
    return config.main_file


def _change(
    change: Change, facts: dict[str, Any], config: NginxConfig | None
) -> tuple[Recommendation, Edit | None] | None:
    """One change evaluated; None when it has no value, changes nothing or its ``when`` fails."""
    wanted = evaluate(change.value, facts)
    current = evaluate(change.current, facts)
    if wanted is None or wanted == current or not evaluate(change.when, facts):
        return None
    name = render_text(change.directive, facts)
    why = render_text(change.why, facts)
    if config is None:
        return Recommendation(name, change.block, str(current) if current else None, str(wanted), None, None, why), None
    directive = find_directive(config, name, change.block)
    file = directive.file if directive else _block_file(config, change.block)
    line = directive.line if directive else None
    block = None if change.block == MAIN else change.block
    edit = Edit(file=file, line=line, directive=name, new_args=(str(wanted),), context_block=block, why=why)
    now = " ".join(directive.args) if directive else None
    return Recommendation(name, change.block, now, str(wanted), file, line, why), edit


def directive_changes(
    config: NginxConfig | None, rec: SizingRecommendation | None, recipes: list[Recipe]
) -> tuple[list[Recommendation], list[Edit]]:
    """The directives to change, with their file and line when the config was pasted."""
    if rec is None or not recipes:
        return [], []
    facts = sizing_facts(rec)
    recs: list[Recommendation] = []
    edits: list[Edit] = []
    for recipe in recipes:
        for change in recipe.changes:
            done = _change(change, facts, config)
            if done is not None:
                recs.append(done[0])
                if done[1] is not None:
                    edits.append(done[1])
    return recs, edits
