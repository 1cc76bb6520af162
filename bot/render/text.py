"""Render a diagnosis for a terminal with rich: what matched, what it means, what to do."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.diagnosis.model import Diagnosis
from bot.render.markdown import cross_findings

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_text(diagnosis: Diagnosis, console: Console) -> None:  # noqa: C901 (split in the reshape, issue 12)
    """Print the diagnosis to ``console``."""
    d = diagnosis
    if not d.matches:
        console.print(f"[bold]No known NGINX error found[/] in {d.lines} line(s).")
        for note in d.notes:
            console.print(escape(note))
        return
    console.print(
        f"[bold]NGINX triage[/]: {len(d.matches)} kind(s) of error in {d.lines} line(s)"
        + (f", {d.unmatched_lines} line(s) matched nothing known" if d.unmatched_lines else "")
    )
    for i, m in enumerate(d.matches, 1):
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
        console.print(Panel(Group(*body), title=head, title_align="left"))
    special = cross_findings(d)
    if special:
        console.print("[bold]Findings[/]")
        for f in special:
            console.print(
                f"  [{_STYLE.get(f.severity, '')}]{f.severity}[/] [dim]{f.id}[/]: {escape(f.message)}", soft_wrap=True
            )
    if d.capacity:
        cap, after = d.capacity, d.capacity.get("after_fix", {})
        console.print(
            f"[bold]Capacity[/]: {cap.get('workers')} worker(s) x {cap.get('worker_connections')} worker_connections"
            f" = {cap.get('max_connections')} connections, {cap.get('max_proxied_requests')} proxied requests"
            + (f"; after the fix {after.get('max_connections')} / {after.get('max_proxied_requests')}" if after else "")
        )
        for line in d.sizing_explain:
            console.print(f"  [dim]- {escape(line)}[/]", soft_wrap=True)
    if d.recommendations:
        table = Table("directive", "now", "set to", "where", "why", title="Changes")
        for r in d.recommendations:
            where = f"{r.file}:{r.line}" if r.line else (f"{r.file} (new)" if r.file else "-")
            table.add_row(r.directive, r.current or "unset", r.recommended, where, r.why)
        console.print(table)
    if d.diff:
        from rich.syntax import Syntax

        console.print(Syntax(d.diff, "diff", theme="ansi_dark", background_color="default"))
    if d.commands:
        console.print("[bold]Commands[/]")
        for c in d.commands:
            console.print(f"  [dim]# {escape(c.purpose)}[/]\n  {escape(c.command)}", soft_wrap=True)
    if d.needs:
        console.print("[bold]Evidence that would sharpen this[/] (paste the output)")
        for n in d.needs:
            console.print(f"  [cyan]{n.evidence}[/]: {escape(n.command)}  [dim]({escape(n.why)})[/]", soft_wrap=True)
    for problem in d.problems:
        console.print(f"[yellow]could not read[/]: {escape(problem)}", soft_wrap=True)
    if d.environment:
        env = d.environment
        console.print(
            f"[dim]environment: {env.get('title')}"
            + ("" if env.get("detected") else " (assumed; --environment to change)")
            + "[/]"
        )
