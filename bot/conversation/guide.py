"""Guided mode: the fix as numbered steps, and the checks that pasted output must pass.

A junior on call should not have to read a diagnosis and decide the order of things. The
steps, their words and what each step's output must show are data (``kb/guides/<id>.yaml``);
this module picks the guide for a diagnosis, renders its steps from the current
``Diagnosis`` on every turn, and runs the checks.

The checks read pasted output with the same sniffer and parsers as the diagnosis; they
never trust a "looks fine": a limits table must be a worker's, not the master's, and show
at least the open-file limit the fix sized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

from bot.conversation.model import GuideStep
from bot.conversation.texts import DIFF_FILE, change_line, first_sentences
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Command, Diagnosis, Recommendation
from bot.diagnosis.recipes import find_directive
from bot.evidence import ConfigParseError, NginxConfig, parse_dump, sniff
from bot.evidence.numbers import is_number
from bot.knowledge.guides_schema import Guide, Step
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.recipes_schema import Block
from bot.knowledge.templates import evaluate, render_text
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile
from bot.matching.matcher import Matcher

FD_DIRECTIVE = "worker_rlimit_nofile"
"""The directive whose recommended value a new worker's ``Max open files`` must reach."""

_BLOCKS = frozenset(get_args(Block))


@dataclass(frozen=True)
class Verdict:
    """What the pasted output showed for one step."""

    passed: bool
    text: str


NGINX_BLOCKS: frozenset[str] = frozenset({"main", "events", "http", "server", "location", "stream", "upstream"})
"""Contexts of nginx's own configuration; a recommendation elsewhere (a php-fpm pool) leaves nginx as it is."""

_POOL_CONTEXTS = frozenset({"php-fpm-pool", "php-fpm pool"})


def in_nginx(rec: Recommendation) -> bool:
    """Whether the change is in nginx's configuration (not a php-fpm pool or another service)."""
    head = rec.context.split()[0] if rec.context.strip() else "main"
    return head in NGINX_BLOCKS and rec.context not in _POOL_CONTEXTS


def nginx_changes(d: Diagnosis) -> bool:
    """Whether anything in nginx changes (then a test and a reload follow)."""
    return any(in_nginx(r) for r in d.recommendations)


def _recipe_ids(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    """The recipes of the matched entries, then of the findings raised, in order."""
    ids = [rid for m in d.matches if (e := kb.errors.get(m.kb_id)) for rid in e.recipes]
    ids += [rid for f in d.findings if (entry := kb.findings.get(f.id)) for rid in entry.recipes]
    return ids


def guide_for(kb: KnowledgeBase, d: Diagnosis) -> Guide:
    """The guide of the first matched entry's (or raised finding's) recipe that names one, else
    the default guide."""
    for rid in _recipe_ids(kb, d):
        recipe = kb.recipes.get(rid)
        if recipe is not None and recipe.guide in kb.guides:
            return kb.guides[recipe.guide]
    guide = kb.default_guide
    if guide is None:
        raise LookupError("no guide in kb/guides says `default: true`; `nginx-triage kb lint` reports it")
    return guide


def required_kinds(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    """The evidence the check step asks for: the guide's decisive kinds still missing."""
    missing = {n.evidence for n in d.needs}
    return [k for k in guide_for(kb, d).decisive_evidence if k in missing]


def required_fd(kb: KnowledgeBase, d: Diagnosis) -> int | None:
    """The open-file limit a new worker must show: the recommended worker_rlimit_nofile (or the
    setting that renders it), else worker_connections."""
    names = {FD_DIRECTIVE} | {
        env.settings[FD_DIRECTIVE] for env in kb.environments.values() if FD_DIRECTIVE in env.settings
    }
    for rec in d.recommendations:
        if rec.directive in names and is_number(rec.recommended):
            return int(rec.recommended)
    after = d.capacity.get("after_fix") or {}
    wc = after.get("worker_connections") or d.capacity.get("worker_connections")
    return int(wc) if isinstance(wc, int) else None


def _commands(d: Diagnosis) -> dict[str, Command]:
    """The plan's commands by role, the first of each."""
    out: dict[str, Command] = {}
    for c in d.commands:
        if c.role:
            out.setdefault(c.role, c)
    return out


def step_context(kb: KnowledgeBase, d: Diagnosis) -> dict[str, Any]:
    """What guide templates see (documented at the top of kb/guides/worker-limits-guide.yaml)."""
    missing = required_kinds(kb, d)
    return {
        "d": d,
        "commands": _commands(d),
        "checks": [c for c in d.commands if c.role == "check"],
        "nginx_changes": nginx_changes(d),
        "pool_changes": [r for r in d.recommendations if r.context in _POOL_CONTEXTS],
        "missing": missing,
        "missing_needs": [n for n in d.needs if n.evidence in missing],
        "finding_ids": [f.id for f in d.findings],
        "required_fd": required_fd(kb, d),
        "diff_file": DIFF_FILE,
        "top": d.matches[0] if d.matches else None,
        "change_line": change_line,
        "first_sentences": first_sentences,
    }


# --- building the steps ------------------------------------------------------------------


def _steps(kb: KnowledgeBase, d: Diagnosis, ctx: dict[str, Any] | None = None) -> list[Step]:
    """The guide's steps that apply to this diagnosis (``when``): no reload when nginx keeps its configuration."""
    ctx = ctx if ctx is not None else step_context(kb, d)
    return [step for step in guide_for(kb, d).steps if evaluate(step.when, ctx)]


def build_steps(kb: KnowledgeBase, d: Diagnosis) -> list[GuideStep]:
    """The numbered steps of this diagnosis's guide."""
    ctx = step_context(kb, d)
    chosen = _steps(kb, d, ctx)
    steps = []
    for number, step in enumerate(chosen, 1):
        variant = next(v for v in step.variants if evaluate(v.when, ctx))
        command = render_text(variant.command, ctx).strip() or None
        expect = render_text(variant.expect, ctx).strip() or None
        title, body = render_text(variant.title, ctx).strip(), render_text(variant.body, ctx).strip()
        steps.append(GuideStep(number, len(chosen), step.kind, title, body, command, expect))
    return steps


def guide_step(kb: KnowledgeBase, d: Diagnosis, number: int) -> Step:
    """The guide's definition of step ``number`` (1-based, counting the steps that apply)."""
    return _steps(kb, d)[number - 1]


def _say(step: Step, key: str, **values: Any) -> str:
    """One of the step's verdict texts."""
    return render_text(step.say[key], values)


# --- checking pasted output --------------------------------------------------------------


def _failure_explained(text: str, kb: KnowledgeBase, matcher: Matcher) -> str:
    """Why nginx complained: the KB entry each error line matches, with its fix."""
    ev = Collected()
    ev.add_text(text, matcher, "output")
    d = diagnose_evidence(ev, kb)
    if not d.matches:
        lines = [ln for ln in text.splitlines() if "emerg" in ln or "failed" in ln or "error" in ln.lower()]
        return say("guide.nginx_reported", lines=lines[:5]) if lines else ""
    parts = [
        say(
            "guide.explained_line",
            title=m.title,
            sample=m.samples[0] if m.samples else "",
            meaning=first_sentences(m.meaning, 300),
            fix=first_sentences(m.fix, 500),
        )
        for m in d.matches[:2]
    ]
    return "\n\n".join(parts)


def _contains(low: str, markers: list[str]) -> list[bool]:
    return [marker.lower() in low for marker in markers]


def check_test_output(step: Step, text: str, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """A config test must show every ``must_show`` marker and none of ``fails_on``."""
    low = text.lower()
    if any(_contains(low, step.fails_on)):
        return Verdict(False, _say(step, "failed", why=_failure_explained(text, kb, matcher)))
    shown = _contains(low, step.must_show)
    if all(shown):
        return Verdict(True, _say(step, "passed"))
    if any(shown):
        return Verdict(False, _say(step, "partial"))
    return Verdict(False, _say(step, "absent"))


def check_reload_output(step: Step, text: str, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """Output pasted after the service was told to apply the change: any of ``fails_on`` fails it."""
    if any(_contains(text.lower(), step.fails_on)):
        return Verdict(False, _say(step, "failed", why=_failure_explained(text, kb, matcher)))
    return Verdict(True, _say(step, "passed"))


def _value_now(config: NginxConfig, rec: Recommendation) -> str | None:
    """The value the pasted configuration has where ``rec`` changes it: the recommended value if
    any occurrence in the change's file has it, else the one at the change's line (or the first)."""
    found = config.find(rec.directive)
    if rec.file:
        found = [x for x in found if x.file == rec.file]
    elif rec.context in _BLOCKS:
        directive = find_directive(config, rec.directive, rec.context)
        found = [directive] if directive else []
    values = [" ".join(x.args) for x in found]
    if rec.recommended in values:
        return rec.recommended
    at_line = next((" ".join(x.args) for x in found if x.line == rec.line), None)
    return at_line or (values[0] if values else None)


def check_change_output(step: Step, text: str, d: Diagnosis) -> Verdict:
    """A fresh `nginx -T` must show every planned nginx directive at its recommended value; an
    unchanged configuration is refused with what is still different."""
    if not any(s.kind == "nginx-T" for s in sniff(text)):
        return Verdict(False, _say(step, "not_config"))
    try:
        config = parse_dump(text)
    except ConfigParseError as exc:
        return Verdict(False, _say(step, "unreadable", error=exc))
    wrong = []
    for rec in d.recommendations:
        if not in_nginx(rec) or (rec.context not in _BLOCKS and not rec.file):
            continue  # a pool or a generated config's setting (ingress-nginx): not a directive in nginx -T
        now = _value_now(config, rec)
        if now != rec.recommended:
            wrong.append({"directive": rec.directive, "now": now, "wanted": rec.recommended})
    if wrong:
        return Verdict(False, _say(step, "not_changed", wrong=wrong))
    return Verdict(True, _say(step, "passed"))


_POOL_LINE = lazy_compile(r"^(?:\S{1,4096}:[0-9]{1,9}:)?[ \t]*(?P<name>[a-z_.]+)[ \t]*=[ \t]*(?P<value>\S+)", re.M)


def check_pool_output(step: Step, text: str, d: Diagnosis) -> Verdict:
    """The pool settings (``grep -Hn`` of the pool file or the file itself) at every planned value."""
    seen: dict[str, str] = {}
    for m in _POOL_LINE.finditer(text):
        seen[m.group("name")] = m.group("value")
    planned = [r for r in d.recommendations if r.context in _POOL_CONTEXTS]
    if not any(r.directive in seen for r in planned):
        return Verdict(False, _say(step, "not_pool"))
    wrong = [
        {"directive": r.directive, "now": seen.get(r.directive), "wanted": r.recommended}
        for r in planned
        if seen.get(r.directive) != r.recommended
    ]
    if wrong:
        return Verdict(False, _say(step, "not_changed", wrong=wrong))
    return Verdict(True, _say(step, "passed"))


def check_error_gone(step: Step, text: str, d: Diagnosis, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """Output after the fix: ``must_show``, none of ``fails_on`` and no line of the thread's errors."""
    if not text.strip():
        return Verdict(False, _say(step, "absent"))
    ev = Collected()
    ev.add_text(text, matcher, "output")
    still = [m.title for m in d.matches if m.kb_id in ev.grouper.groups]
    low = text.lower()
    if still or any(_contains(low, step.fails_on)):
        return Verdict(False, _say(step, "failed", titles=still))
    if not all(_contains(low, step.must_show)):
        return Verdict(False, _say(step, "absent"))
    return Verdict(True, _say(step, "passed"))


def _limits_verdicts(step: Step, ev: Collected, fd: int | None, old_pids: set[str]) -> tuple[list[str], list[str]]:
    """(problems, good news) from the limits tables in the paste."""
    problems: list[str] = []
    good: list[str] = []
    for paste in ev.limits:
        role, why = ev.limits_role(paste)
        soft = paste.limits.nofile_soft
        pid = paste.limits.pid
        if role == "master":
            problems.append(_say(step, "master", why=why))
        elif pid is not None and str(pid) in old_pids:
            problems.append(_say(step, "old_worker", pid=pid))
        elif soft is None:
            problems.append(_say(step, "no_row"))
        elif fd is not None and soft < fd:
            problems.append(_say(step, "below", soft=soft, fd=fd))
        else:
            good.append(_say(step, "good_limits", soft=soft, fd=fd))
    return problems, good


def _process_verdicts(step: Step, ev: Collected, old_pids: set[str]) -> tuple[list[str], list[str]]:
    """(problems, good news) from the ps output in the paste."""
    problems: list[str] = []
    good: list[str] = []
    workers = [p for p in ev.processes if p.role == "worker"]
    if not workers:
        return problems, good
    draining = [p for p in workers if "shutting down" in p.cmd]
    fresh = [p for p in workers if p not in draining and str(p.pid) not in old_pids]
    stale = [p for p in workers if p not in draining and str(p.pid) in old_pids]
    if stale:
        problems.append(_say(step, "stale", count=len(stale), pids=", ".join(str(p.pid) for p in stale)))
    elif fresh:
        good.append(_say(step, "fresh", count=len(fresh), pids=", ".join(str(p.pid) for p in fresh[:8])))
    if draining:
        good.append(_say(step, "draining", count=len(draining)))
    return problems, good


def check_verify_output(step: Step, text: str, d: Diagnosis, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """A worker's (not the master's) limits at least the sized value, or ps with new workers."""
    ev = Collected()
    ev.add_text(text, matcher, "output")
    fd = required_fd(kb, d)
    old_pids = {pid for m in d.matches for pid in m.workers}
    problems, good = _limits_verdicts(step, ev, fd, old_pids)
    more_problems, more_good = _process_verdicts(step, ev, old_pids)
    problems += more_problems
    good += more_good
    alerts = sum(
        ev.grouper.groups[m.kb_id].count
        for m in d.matches
        if m.kb_id in ev.grouper.groups and m.severity in ("critical", "high")
    )
    if alerts:
        problems.append(_say(step, "alerts", count=alerts))
    elif "error-log" in ev.present and ev.grouper.lines:
        good.append(_say(step, "gone"))
    if problems:
        return Verdict(False, "\n".join(f"- {p}" for p in problems))
    if not good:
        return Verdict(False, _say(step, "nothing", fd=fd))
    return Verdict(True, _say(step, "passed", good=good))


def check_output(step: Step, text: str, d: Diagnosis, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """Judge output pasted for a step by the step's ``check`` (not ``evidence``: the engine adds that)."""
    if step.check == "nginx-test":
        return check_test_output(step, text, kb, matcher)
    if step.check == "reload-output":
        return check_reload_output(step, text, kb, matcher)
    if step.check == "config-values":
        return check_change_output(step, text, d)
    if step.check == "pool-values":
        return check_pool_output(step, text, d)
    if step.check == "error-gone":
        return check_error_gone(step, text, d, kb, matcher)
    if step.check == "new-workers":
        return check_verify_output(step, text, d, kb, matcher)
    raise ValueError(f"step {step.kind}: check {step.check!r} is not judged here")


def evidence_verdict(step: Step, missing: str, changes: list[str]) -> Verdict:
    """The check step's verdict once the paste joined the thread's evidence."""
    if missing:
        return Verdict(False, _say(step, "still_missing", missing=missing))
    return Verdict(True, _say(step, "got_it", changes=changes))


# --- explaining --------------------------------------------------------------------------


def explain_step(kb: KnowledgeBase, step: GuideStep, d: Diagnosis) -> str:
    """Why this step, with the sizing arithmetic and the findings behind it."""
    parts = [say("guide.why_heading", number=step.number, title=step.title)]
    rendered = render_text(guide_step(kb, d, step.number).explain, step_context(kb, d))
    parts += [p.strip() for p in rendered.split("\n\n") if p.strip()]
    matched = {m.kb_id for m in d.matches}
    others = [f for f in d.findings if f.id not in matched and f.message not in parts]
    if others:
        parts.append(say("guide.findings", findings=others))
    return "\n\n".join(parts)
