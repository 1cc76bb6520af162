"""Fix recipes (``kb/recipes/*.yaml``) turned into directive changes with file and line.

A recipe says which directive gets which value where; this module evaluates its expressions
against the facts its source gives (``recipe_facts``), finds the directive in the pasted
``nginx -T`` (its existing line in the block that handles the request, or that block to
insert it into), or in a php-fpm pool file, and returns the recommendations shown to the
user, the edits the diff is built from, and the checks with the user's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Command, Recommendation
from bot.diagnosis.recipe_facts import RequestPlace, base_facts, request_facts
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.templates import evaluate, render_text
from bot.sizing import Recommendation as SizingRecommendation

if TYPE_CHECKING:
    from bot.diagnosis.edits import Edit
    from bot.diagnosis.line_diff import LineEdit
    from bot.evidence import Directive, NginxConfig
    from bot.evidence.nginx_config.routing import Block as ConfigBlock
    from bot.knowledge.recipes_schema import Change, Recipe
    from bot.knowledge.schema import EnvironmentEntry, ErrorEntry

MAIN = "main"
"""The block name recipes use for nginx's main context (outside every block)."""

POOL = "php-fpm-pool"
"""The block name of a php-fpm pool file (outside nginx: its own file and line)."""


@dataclass(frozen=True)
class RecipeRun:
    """One evaluation of a recipe: its facts and, for a request, where it was handled."""

    recipe: Recipe
    facts: dict[str, Any]
    place: RequestPlace | None = None


@dataclass
class Planned:
    """What the recipes change: recommendations, nginx edits, edits of other files, checks."""

    recommendations: list[Recommendation] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    line_edits: list[LineEdit] = field(default_factory=list)
    checks: list[Command] = field(default_factory=list)


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


def recipe_runs(
    kb: KnowledgeBase,
    entries: list[ErrorEntry],
    ev: Collected,
    rec: SizingRecommendation | None,
    fired: list[tuple[list[str], dict[str, Any]]],
    env: EnvironmentEntry | None,
) -> list[RecipeRun]:
    """Every recipe to evaluate: the matched entries' (sizing once, request per entry) and the fired findings'."""
    runs: list[RecipeRun] = []
    sized: set[str] = set()
    for entry in entries:
        for rid in entry.recipes:
            recipe = kb.recipes.get(rid)
            if recipe is None:
                continue
            if recipe.facts == "sizing":
                if rec is not None and rid not in sized:
                    sized.add(rid)
                    runs.append(RecipeRun(recipe, {**base_facts(env, ev), **sizing_facts(rec)}))
            elif recipe.facts == "request" and entry.id in ev.grouper.groups:
                facts, place = request_facts(ev, ev.grouper.groups[entry.id], env)
                runs.append(RecipeRun(recipe, facts, place))
    for recipe_ids, facts in fired:
        for rid in recipe_ids:
            recipe = kb.recipes.get(rid)
            if recipe is not None and recipe.facts == "finding":
                runs.append(RecipeRun(recipe, {**base_facts(env, ev), **facts}))
    return runs


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


def _args(value: Any) -> tuple[str, ...]:
    return tuple(str(value).split()) or (str(value),)


def _path_context(node: ConfigBlock | None) -> str:
    from bot.evidence.nginx_config.routing import block_label

    return " > ".join(block_label(b) for b in node.path()) if node is not None else ""


def _holder(tree: ConfigBlock, directive: Directive) -> ConfigBlock | None:
    """The block that holds ``directive`` directly."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if any(d is directive for d in node.statements):
            return node
        stack.extend(node.children)
    return None


class _Placer:
    """Turns evaluated changes into recommendations and edits for one diagnosis."""

    def __init__(self, ev: Collected) -> None:
        self.ev = ev
        self.config = ev.config
        self.tree: ConfigBlock | None = None
        if self.config is not None:  # the router is imported only for a pasted nginx -T
            from bot.evidence.nginx_config.routing import build_tree

            self.tree = build_tree(self.config)
        self.out = Planned()
        self.done: set[tuple[str, str | None, int | None, str]] = set()

    def add(self, rec: Recommendation, edit: Edit | None, line_edit: LineEdit | None = None) -> None:
        key = (rec.directive, rec.file, rec.line, rec.context)
        if key in self.done:
            return
        self.done.add(key)
        self.out.recommendations.append(rec)
        if edit is not None:
            self.out.edits.append(edit)
        if line_edit is not None:
            self.out.line_edits.append(line_edit)

    def top_level(self, name: str, block: str, wanted: Any, current: Any, why: str) -> None:
        """``main``, ``events``, ``http``: the existing line, else inserted in that block."""
        if self.config is None:
            self.add(Recommendation(name, block, str(current) if current else None, str(wanted), None, None, why), None)
            return
        from bot.diagnosis.edits import Edit  # edits exist only with a pasted nginx -T

        directive = find_directive(self.config, name, block)
        file = directive.file if directive else _block_file(self.config, block)
        line = directive.line if directive else None
        edit = Edit(file, line, name, _args(wanted), None if block == MAIN else block, why)
        now = " ".join(directive.args) if directive else None
        self.add(Recommendation(name, block, now, str(wanted), file, line, why), edit)

    def handled(self, name: str, block: str, place: RequestPlace | None, wanted: Any, current: Any, why: str) -> None:
        """``server`` / ``location``: the block that handled the request."""
        route = place.route if place is not None else None
        target = None
        if route is not None:
            target = route.location if block == "location" and route.location is not None else route.server
        if target is None or target.directive is None or target.directive.line == 0:
            self.add(Recommendation(name, block, str(current) if current else None, str(wanted), None, None, why), None)
            return
        from bot.diagnosis.edits import Edit

        context = _path_context(target)
        own = target.own(name)
        if own:
            d = own[0]
            edit = Edit(d.file, d.line, name, _args(wanted), None, why)
            self.add(Recommendation(name, context, " ".join(d.args), str(wanted), d.file, d.line, why), edit)
            return
        at = target.directive
        edit = Edit(at.file, None, name, _args(wanted), None, why, block_at=(at.file, at.line))
        now = str(current) if current is not None else None
        self.add(Recommendation(name, context, now, str(wanted), at.file, at.line, why), edit)

    def at(self, name: str, where: Any, wanted: Any, why: str) -> None:
        """An existing line a finding names (``{file, line}``)."""
        if self.config is None or self.tree is None or not isinstance(where, dict):
            return
        d = next(
            (x for x in self.config.find(name) if x.file == where.get("file") and x.line == where.get("line")), None
        )
        if d is None:
            return
        from bot.diagnosis.edits import Edit

        context = _path_context(_holder(self.tree, d)) or MAIN
        edit = Edit(d.file, d.line, name, _args(wanted), None, why)
        self.add(Recommendation(name, context, " ".join(d.args), str(wanted), d.file, d.line, why), edit)

    def pool(self, name: str, wanted: Any, current: Any, why: str) -> None:
        """A php-fpm pool setting: its line in the pool file, else after the pool's ``listen``."""
        settings = [s for pools in self.ev.fpm_pools for s in pools.settings]
        found = next((s for s in settings if s.key == name and s.file and s.line and s.text), None)
        anchor = next((s for s in settings if s.key == "listen" and s.file and s.line), None)
        context = f"php-fpm pool {found.pool or 'www'}" if found and found.pool else "php-fpm pool"
        new = f"{name} = {wanted}"
        if found is not None and found.file and found.line and found.text is not None:
            from bot.diagnosis.line_diff import LineEdit  # a pool file's lines were pasted

            line_edit = LineEdit(found.file, found.line, found.text, new)
            rec = Recommendation(name, context, found.value, str(wanted), found.file, found.line, why)
            self.add(rec, None, line_edit)
        elif anchor is not None and anchor.file and anchor.line:
            from bot.diagnosis.line_diff import LineEdit

            now = str(current) if current is not None else None
            line_edit = LineEdit(anchor.file, anchor.line, None, new)
            self.add(Recommendation(name, context, now, str(wanted), anchor.file, anchor.line, why), None, line_edit)
        else:
            now = str(current) if current is not None else None
            self.add(Recommendation(name, context, now, str(wanted), None, None, why), None)


def _items(change: Change, facts: dict[str, Any]) -> list[dict[str, Any]]:
    if change.each is None:
        return [facts]
    items = evaluate(change.each, facts) or []
    return [{**facts, "item": item} for item in items]


def _apply(placer: _Placer, run: RecipeRun, change: Change) -> None:
    for facts in _items(change, run.facts):
        if not evaluate(change.when, facts):
            continue
        wanted = evaluate(change.value, facts)
        current = evaluate(change.current, facts)
        if wanted is None or str(wanted) == str(current):
            continue
        name = render_text(change.directive, facts)
        why = render_text(change.why, facts)
        if change.at is not None:
            placer.at(name, evaluate(change.at, facts), wanted, why)
        elif change.block == POOL:
            placer.pool(name, wanted, current, why)
        elif change.block in ("server", "location"):
            placer.handled(name, change.block, run.place, wanted, current, why)
        else:
            placer.top_level(name, change.block, wanted, current, why)


def _checks(run: RecipeRun) -> list[Command]:
    out: list[Command] = []
    for check in run.recipe.checks:
        if evaluate(check.when, run.facts):
            out.append(Command(render_text(check.purpose, run.facts), render_text(check.command, run.facts), "check"))
    return out


def with_lets(run: RecipeRun) -> RecipeRun:
    """The run with the recipe's ``let`` values added to its facts, in order."""
    if not run.recipe.let:
        return run
    facts = dict(run.facts)
    for name, expression in run.recipe.let.items():
        try:
            facts[name] = evaluate(expression, facts)
        except (TypeError, ValueError, ArithmeticError):  # a fact the paste left unknown (None) or odd
            facts[name] = None
    return RecipeRun(run.recipe, facts, run.place)


def plan_changes(ev: Collected, runs: list[RecipeRun]) -> Planned:
    """The recommendations, edits and checks of every run, each directive place once."""
    placer = _Placer(ev)
    seen: set[str] = set()
    for run in map(with_lets, runs):
        for change in run.recipe.changes:
            _apply(placer, run, change)
        for command in _checks(run):
            if command.command not in seen:
                seen.add(command.command)
                placer.out.checks.append(command)
    return placer.out
