"""Render a diagnosis for a terminal with rich: what matched, what it means, what to do.

Rendering builds rich renderables and prints nothing: the front door (``nginx-triage
diagnose``) owns the terminal and prints each ``TextPart`` in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.diagnosis.model import Diagnosis, MatchSummary
from bot.render.markdown import cross_findings

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


@dataclass(frozen=True)
class TextPart:
    """One thing to print: a renderable (a string is rich markup) and whether it may run past the width."""

    body: RenderableType
    soft_wrap: bool = False


def render_text(diagnosis: Diagnosis) -> list[TextPart]:
    """The diagnosis as terminal output, in the order it is printed."""
    d = diagnosis
    if not d.matches:
        # Findings from pasted evidence alone (a full disk in `df`, an expired certificate) still show.
        return (
            [TextPart(f"[bold]No known NGINX error found[/] in {d.lines} line(s).")]
            + [TextPart(escape(note)) for note in d.notes]
            + (_findings(d) if d.findings else [])
        )
    parts = [
        TextPart(
            f"[bold]NGINX triage[/]: {len(d.matches)} kind(s) of error in {d.lines} line(s)"
            + (f", {d.unmatched_lines} line(s) matched nothing known" if d.unmatched_lines else "")
        )
    ]
    parts += [TextPart(_match_panel(i, m)) for i, m in enumerate(d.matches, 1)]
    parts += _findings(d) + _capacity(d) + _changes(d) + _commands(d) + _needs(d)
    parts += [TextPart(f"[yellow]could not read[/]: {escape(problem)}", soft_wrap=True) for problem in d.problems]
    if d.environment:
        env = d.environment
        parts.append(
            TextPart(
                f"[dim]environment: {env.get('title')}"
                + ("" if env.get("detected") else " (assumed; --environment to change)")
                + "[/]"
            )
        )
    return parts


def _match_panel(i: int, m: MatchSummary) -> Panel:
    head = Text.assemble((f"{i}. {m.title}", _STYLE.get(m.severity, "")), f"  x{m.count}  ", (m.kb_id, "dim"))
    body: list[Text | Table | str] = []
    when = []
    if m.first_seen:
        when.append(f"seen {m.first_seen}" + (f" to {m.last_seen}" if m.last_seen != m.first_seen else ""))
    if m.workers:
        when.append("worker pids " + ", ".join(m.workers[:8]))
    if when:
        body.append(Text("; ".join(when), style="dim"))
    for key, values in m.top.items():
        if values:
            body.append(Text(f"top {key}: " + ", ".join(f"{v} ({c})" for v, c in values), style="dim"))
    body.append(Text.assemble(("What it means: ", "bold"), m.meaning))
    body.append(Text.assemble(("Fix: ", "bold green"), m.fix))
    body.append(Text(m.samples[0] if m.samples else "", style="italic dim"))
    return Panel(Group(*body), title=head, title_align="left")


def _findings(d: Diagnosis) -> list[TextPart]:
    special = cross_findings(d)
    if not special:
        return []
    return [TextPart("[bold]Findings[/]")] + [
        TextPart(f"  [{_STYLE.get(f.severity, '')}]{f.severity}[/] [dim]{f.id}[/]: {escape(f.message)}", soft_wrap=True)
        for f in special
    ]


def _capacity(d: Diagnosis) -> list[TextPart]:
    if not d.capacity:
        return []
    cap, after = d.capacity, d.capacity.get("after_fix", {})
    line = (
        f"[bold]Capacity[/]: {cap.get('workers')} worker(s) x {cap.get('worker_connections')} worker_connections"
        f" = {cap.get('max_connections')} connections, {cap.get('max_proxied_requests')} proxied requests"
        + (f"; after the fix {after.get('max_connections')} / {after.get('max_proxied_requests')}" if after else "")
    )
    return [TextPart(line)] + [TextPart(f"  [dim]- {escape(e)}[/]", soft_wrap=True) for e in d.sizing_explain]


def _changes(d: Diagnosis) -> list[TextPart]:
    parts = []
    if d.recommendations:
        table = Table("directive", "now", "set to", "where", "why", title="Changes")
        for r in d.recommendations:
            where = f"{r.file}:{r.line}" if r.line else (f"{r.file} (new)" if r.file else "-")
            table.add_row(r.directive, r.current or "unset", r.recommended, where, r.why)
        parts.append(TextPart(table))
    if d.diff:
        from rich.syntax import Syntax  # pygments is slow to import; only a diff needs it

        parts.append(TextPart(Syntax(d.diff, "diff", theme="ansi_dark", background_color="default")))
    return parts


def _commands(d: Diagnosis) -> list[TextPart]:
    if not d.commands:
        return []
    return [TextPart("[bold]Commands[/]")] + [
        TextPart(f"  [dim]# {escape(c.purpose)}[/]\n  {escape(c.command)}", soft_wrap=True) for c in d.commands
    ]


def _needs(d: Diagnosis) -> list[TextPart]:
    if not d.needs:
        return []
    return [TextPart("[bold]Evidence that would sharpen this[/] (paste the output)")] + [
        TextPart(f"  [cyan]{n.evidence}[/]: {escape(n.command)}  [dim]({escape(n.why)})[/]", soft_wrap=True)
        for n in d.needs
    ]
