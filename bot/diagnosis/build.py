"""Turn matched, grouped log lines (and later, other evidence) into a ``Diagnosis``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.diagnosis.collect import Collected
from bot.diagnosis.findings import fired_checks, render_finding
from bot.diagnosis.model import Command, Diagnosis, Finding, MatchSummary, Recommendation
from bot.diagnosis.plan import (
    alert_rule,
    as_settings,
    detect_environment,
    diff_for,
    environment_commands,
    missing_evidence,
    reproduction,
)
from bot.diagnosis.recipe_facts import error_log_path
from bot.diagnosis.recipes import plan_changes, recipe_runs
from bot.diagnosis.sizing_input import build_sizing_input
from bot.diagnosis.user_values import command_values, fill_placeholders, pasted_names
from bot.evidence.numbers import is_number
from bot.grouping import Grouper, MatchGroup, group_lines
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.templates import evaluate, is_template_error, render_fix_text, render_text
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile
from bot.matching.matcher import Matcher
from bot.sizing import Capacity, SizingInput, capacity, recommend
from bot.sizing import Recommendation as SizingRecommendation

if TYPE_CHECKING:
    from bot.diagnosis.line_diff import LineEdit
    from bot.knowledge.schema import ErrorEntry

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

_KEEP_BREAK = lazy_compile(r"^\s*(?:[-*+]\s|[0-9]{1,20}[.)]\s|```|\||#|\$\s)|^\s{2,}\S")


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of YAML block text into paragraphs.

    KB authors wrap prose at ~90 columns; terminals and Slack wrap themselves. Lists, code
    fences, tables and indented lines keep their breaks.
    """
    out: list[str] = []
    in_code = False
    for line in text.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
            out.append(line)
            continue
        if in_code or not stripped or not out or not out[-1].strip() or _KEEP_BREAK.match(line):
            out.append(line)
            continue
        if out[-1].lstrip().startswith("```") or (_KEEP_BREAK.match(out[-1]) and out[-1].startswith(" " * 2)):
            out.append(line)
            continue
        out[-1] = out[-1].rstrip() + " " + stripped
    return "\n".join(out)


def render_fix(
    entry: ErrorEntry, facts: Mapping[str, str], count: int, sizing: Mapping[str, Any] | None = None, env: str = ""
) -> str:
    """Render an entry's Jinja2 fix text; a broken template degrades to its raw text."""
    values = {"facts": dict(facts), "count": count, "sizing": dict(sizing or {}), "env": env}
    try:
        return reflow(render_fix_text(entry.fix, values))
    except Exception as exc:
        if not is_template_error(exc):
            raise
        return f"{entry.fix.strip()}\n(template error in kb/errors/{entry.id}.yaml: {exc})"


def _summary(
    entry: ErrorEntry, group: MatchGroup, sizing: Mapping[str, Any] | None = None, env: str = ""
) -> MatchSummary:
    facts = group.summary_facts()
    return MatchSummary(
        kb_id=entry.id,
        title=entry.title,
        severity=entry.severity,
        count=group.count,
        facts=facts,
        first_seen=group.first_time,
        last_seen=group.last_time,
        workers=[pid for pid, _ in group.pids.top(20)],
        top={k: t.top(5) for k, t in sorted(group.tallies.items())},
        fuzzy=group.fuzzy,
        samples=list(group.samples),
        meaning=reflow(entry.meaning),
        fix=render_fix(entry, facts, group.count, sizing, env),
    )


def diagnose_groups(grouper: Grouper, kb: KnowledgeBase) -> Diagnosis:
    """Build the diagnosis from grouped log lines alone."""
    return diagnose_evidence(Collected(grouper=grouper), kb)


def _sizing(
    ev: Collected, target_concurrency: int | None, kb: KnowledgeBase
) -> tuple[SizingInput, SizingRecommendation | None]:
    """Run the sizing math when there is anything to size from."""
    inp = build_sizing_input(ev, target_concurrency, kb)
    if (
        ev.config is None
        and ev.worker_limits is None
        and inp.observed_alert_worker_connections is None
        and target_concurrency is None
    ):
        return inp, None
    return inp, recommend(inp)


def _capacity_after(inp: SizingInput, recs: list[Recommendation]) -> Capacity:
    """Capacity with exactly the recommended directive changes applied.

    A new ``worker_rlimit_nofile`` replaces the limit a worker's pasted table showed: the new
    workers set it themselves, so the ceiling after the fix is the new one (issue 9, item 6).
    """
    changed = {r.directive: int(r.recommended) for r in recs if r.recommended.isascii() and is_number(r.recommended)}
    after = replace(
        inp,
        worker_connections=changed.get("worker_connections", inp.worker_connections),
        worker_rlimit_nofile=changed.get("worker_rlimit_nofile", inp.worker_rlimit_nofile),
        worker_processes=changed.get("worker_processes", inp.worker_processes),
    )
    if "worker_rlimit_nofile" in changed:
        after = replace(after, worker_nofile_soft=None, worker_nofile_hard=None)
    return capacity(after)


def _command_for(when: str, command: str, values: dict[str, Any]) -> str | None:
    """A diagnostic command rendered with the paste's facts; None when its ``when`` is false
    or it needs a fact these lines lack (the other commands still stand)."""
    try:
        return render_text(command, values) if evaluate(when, values) else None
    except Exception as exc:
        if isinstance(exc, (TypeError, ValueError, ArithmeticError)) or is_template_error(exc):
            return None
        raise


def _pool_diff(edits: list[LineEdit]) -> str:
    """The diff of php-fpm pool files; empty (and ``line_diff`` not imported) when none was pasted."""
    if not edits:
        return ""
    from bot.diagnosis.line_diff import line_diff

    return line_diff(edits)


def diagnose_evidence(
    ev: Collected, kb: KnowledgeBase, target_concurrency: int | None = None, environment: str | None = None
) -> Diagnosis:
    """Everything the engine concludes from the evidence collected so far."""
    grouper = ev.grouper
    entries = [kb.errors[k] for k in grouper.groups if k in kb.errors]
    entries.sort(key=lambda e: (SEVERITY_ORDER[e.severity], -grouper.groups[e.id].count, e.id))
    inp, rec = _sizing(ev, target_concurrency, kb)
    if environment and environment in kb.environments:
        env_id, detected = environment, True
    else:
        env_id, detected = detect_environment(kb, ev.env_text, ev.run_env.kind if ev.run_env else None)
    env = kb.environments.get(env_id)
    fired = fired_checks(kb, ev, rec, env)
    runs = recipe_runs(kb, entries, ev, rec, [(entry.recipes, facts) for entry, facts in fired], env)
    recipes = [kb.recipes[rid] for rid in dict.fromkeys(run.recipe.id for run in runs)]
    planned = plan_changes(ev, runs)
    directive_recs, edits = planned.recommendations, planned.edits
    recommendations = directive_recs
    if env is not None and env.settings:
        recommendations, edits = as_settings(env, directive_recs), []
    template_vars = rec.template_vars() if rec else {}
    if (
        rec is not None
        and ev.config is not None
        and not any(r.directive == "worker_rlimit_nofile" for r in directive_recs)
    ):
        template_vars.pop("recommended_worker_rlimit_nofile", None)  # workers already inherit enough
    matches = [_summary(e, grouper.groups[e.id], template_vars, env_id) for e in entries]
    findings = [render_finding(entry, facts) for entry, facts in fired]
    findings += [
        Finding(
            id=m.kb_id,
            severity=m.severity,
            message=say("plan.match_finding", title=m.title, count=m.count),
            evidence=m.samples[:1],
        )
        for m in matches
    ]
    diff, diff_problem = diff_for(ev.config, edits)
    diff += _pool_diff(planned.line_edits)
    # Why there is no diff comes first (a reply shows only the first few problems); damage it
    # already names ("nginx -T: <issue>") is not listed twice.
    problems = list(ev.problems)
    if diff_problem:
        problems = [diff_problem] + [p for p in problems if p.partition(": ")[2] not in diff_problem]
    names = pasted_names(ev)
    found_names = dict(names)
    if ev.config is not None and ev.config.find("error_log"):
        names["error_log"] = error_log_path(ev, None)
    nginx_changed = bool(planned.edits) or not planned.line_edits
    commands = environment_commands(env, rec, bool(diff), recipes, recommendations, nginx_changed=nginx_changed)
    commands += [c for c in planned.checks if c.command not in {x.command for x in commands}]
    placeholders = env.placeholders if env is not None else {}
    commands = [Command(c.purpose, fill_placeholders(c.command, placeholders, names), c.role) for c in commands]
    seen_cmds = {c.command for c in commands}
    for entry in entries:
        values: dict[str, Any] | None = None
        for diag in entry.diagnostics:
            command = diag.command
            if diag.template:
                values = values if values is not None else command_values(ev, grouper.groups.get(entry.id), found_names)
                rendered = _command_for(diag.when, command, values)
                if rendered is None:
                    continue
                command = rendered
            if command not in seen_cmds:
                seen_cmds.add(command)
                commands.append(Command(diag.why, command, diag.role or ""))
    needs = missing_evidence(kb, entries, ev, found_names)
    notes = []
    if grouper.lines and not matches:
        notes.append(say("plan.nothing_matched"))
    if ev.config is not None and recommendations and not diff and not diff_problem:
        notes.append(say("plan.not_placed"))
    capacity: dict[str, Any] = {}
    target: dict[str, Any] = {}
    explain: list[str] = []
    alert = reproduce = ""
    if rec is not None:
        capacity = rec.capacity_before.to_dict()
        after_fix = _capacity_after(inp, directive_recs)
        capacity["after_fix"] = after_fix.to_dict()
        target = {"value": rec.target.value, "source": rec.target.source, "explain": list(rec.target.explain)}
        explain = list(rec.explain)
        alert = alert_rule(after_fix.max_connections, after_fix.max_proxied_requests)
        reproduce = reproduction(rec.capacity_before.max_proxied_requests)
    return Diagnosis(
        matches=matches,
        unmatched_lines=grouper.unmatched,
        lines=grouper.lines,
        unmatched_samples=grouper.unmatched_samples[:5],
        capacity=capacity,
        recommendations=recommendations,
        commands=commands,
        findings=findings,
        needs=needs,
        notes=notes,
        target_concurrency=target,
        sizing_explain=explain,
        environment={"id": env_id, "title": env.title if env else env_id, "detected": detected},
        evidence=sorted(ev.present),
        problems=problems,
        diff=diff,
        alert_rule=alert,
        reproduce=reproduce,
        questions=list(ev.questions),
    )


def diagnose_lines(lines: Iterable[str], kb: KnowledgeBase, matcher: Matcher) -> Diagnosis:
    """Diagnose error-log lines."""
    return diagnose_groups(group_lines(lines, matcher), kb)
