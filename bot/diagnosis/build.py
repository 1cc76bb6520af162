"""Turn matched, grouped log lines (and later, other evidence) into a ``Diagnosis``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from bot.diagnosis.grouping import Grouper, MatchGroup
from bot.diagnosis.model import Command, Diagnosis, Finding, MatchSummary, Need
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import ErrorEntry
from bot.matching.matcher import Matcher

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

_JINJA = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, trim_blocks=True)


def render_fix(entry: ErrorEntry, facts: Mapping[str, str], count: int,
               sizing: Mapping[str, Any] | None = None, env: str = "") -> str:
    """Render an entry's Jinja2 fix text; a broken template degrades to its raw text."""
    try:
        template = _JINJA.from_string(entry.fix)
        return template.render(facts=dict(facts), count=count, sizing=dict(sizing or {}), env=env).strip()
    except TemplateError as exc:
        return f"{entry.fix.strip()}\n(template error in kb/errors/{entry.id}.yaml: {exc})"


def group_lines(lines: Iterable[str], matcher: Matcher) -> Grouper:
    """Parse, match and group every line; the loop every diagnosis starts with."""
    grouper = Grouper()
    add = grouper.add
    for line, match in matcher.match_lines(lines):
        add(line, match)
    return grouper


def _summary(entry: ErrorEntry, group: MatchGroup) -> MatchSummary:
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
        meaning=entry.meaning.strip(),
        fix=render_fix(entry, facts, group.count),
    )


def diagnose_groups(grouper: Grouper, kb: KnowledgeBase) -> Diagnosis:
    """Build the diagnosis from grouped matches."""
    entries = [kb.errors[k] for k in grouper.groups if k in kb.errors]
    entries.sort(key=lambda e: (SEVERITY_ORDER[e.severity], -grouper.groups[e.id].count, e.id))
    matches = [_summary(e, grouper.groups[e.id]) for e in entries]
    findings = [
        Finding(
            id=m.kb_id,
            severity=m.severity,
            message=f"{m.title} ({m.count} line{'s' if m.count != 1 else ''})",
            evidence=m.samples[:1],
        )
        for m in matches
    ]
    needs: list[Need] = []
    seen_needs: set[str] = set()
    commands: list[Command] = []
    seen_cmds: set[str] = set()
    for entry in entries:
        for need in entry.needs:
            if need.evidence in seen_needs:
                continue
            seen_needs.add(need.evidence)
            kind = kb.evidence.get(need.evidence)
            needs.append(Need(need.evidence, kind.command if kind else "", need.why))
        for diag in entry.diagnostics:
            if diag.command not in seen_cmds:
                seen_cmds.add(diag.command)
                commands.append(Command(diag.why, diag.command))
    notes = []
    if grouper.lines and not matches:
        notes.append(
            "No line matched a known NGINX error. Paste lines from nginx's error.log "
            "(not access.log), e.g. `tail -n 200 /var/log/nginx/error.log`."
        )
    return Diagnosis(
        matches=matches,
        unmatched_lines=grouper.unmatched,
        lines=grouper.lines,
        unmatched_samples=grouper.unmatched_samples[:5],
        commands=commands,
        findings=findings,
        needs=needs,
        notes=notes,
    )


def diagnose_lines(lines: Iterable[str], kb: KnowledgeBase, matcher: Matcher) -> Diagnosis:
    """Diagnose error-log lines."""
    return diagnose_groups(group_lines(lines, matcher), kb)
