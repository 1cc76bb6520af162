"""What the CLI says about lines no curated entry explains, using the NGINX message catalogue.

``diagnose`` lists its unmatched samples with the catalogue message each one is (module,
level, source, directives, when, where to read), ``match`` adds the same ``catalog``
object to its JSON lines, and ``kb stats`` prints how much of the catalogue the curated
entries explain. JSON shapes follow ../shared/DESIGN.md: a catalogue-known line keeps
``kb_id: null`` and gets ``catalog: {module, level, source, directives, ...}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.evidence.errorlog import parse_line
from bot.knowledge.loader import builtin_kb_dir
from bot.matching.matcher import Matcher

if TYPE_CHECKING:  # rich and the catalogue builder load only for the commands that print or build
    from rich.console import Console


def catalog_json(raw: str, matcher: Matcher) -> dict[str, Any] | None:
    """The ``catalog`` object for a line no curated entry matched, or None."""
    line = parse_line(raw)
    known = matcher.catalog_message(line)
    return known.to_json(line.context.get("upstream")) if known is not None else None


def unmatched_details(samples: list[str], matcher: Matcher) -> list[dict[str, Any]]:
    """``unmatched`` of ``diagnose --format json``: each sample line with its catalogue message."""
    return [{"line": raw, "catalog": catalog_json(raw, matcher)} for raw in samples]


def print_known_messages(samples: list[str], matcher: Matcher, console: Console) -> None:
    """After the text diagnosis: unmatched lines the catalogue knows, one sentence each."""
    seen: set[str] = set()
    lines: list[str] = []
    for raw in samples:
        line = parse_line(raw)
        known = matcher.catalog_message(line)
        if known is None or known.id in seen:
            continue
        seen.add(known.id)
        lines.append(known.describe(line.context.get("upstream")))
    if not lines:
        return
    from rich.text import Text

    console.print()
    console.print(Text("Lines without a KB entry that nginx's message catalogue knows:", style="bold"))
    for text in lines:
        console.print(Text(f"  - {text}"), soft_wrap=True)


def stats_command(fmt: str, matcher: Matcher) -> int:
    """``kb stats``: catalogue size and how much of it curated entries explain."""
    from rich.console import Console

    from bot.matching.coverage import catalog_coverage

    report = catalog_coverage(matcher)
    if report is None:
        sys.stderr.write("nginx-triage: no message catalogue found (kb/catalog/messages.json)\n")
        return 1
    if fmt == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
        return 0
    out = Console(highlight=False)
    share = 100.0 * report.explained_count / max(report.total, 1)
    out.print(
        f"NGINX message catalogue: {report.total} messages at warn and above "
        f"(nginx {report.release}, commit {report.commit[:12]}), {report.with_pattern} with a pattern.",
        markup=False,
    )
    out.print(
        f"Curated KB entries explain {report.explained_count} of them ({share:.1f}%).",
        markup=False,
    )
    out.print("By level (explained / all):", markup=False)
    for level, total in report.by_level.items():
        out.print(f"  {level:8} {report.explained_by_level.get(level, 0):5} / {total}", markup=False)
    out.print("Entries that explain the most messages:", markup=False)
    for kb_id, count in list(report.per_entry.items())[:10]:
        out.print(f"  {kb_id:40} {count}", markup=False)
    return 0


def build_command(source: Path, release: str, commit: str, out: Path | None) -> int:
    """``kb catalog``: read an nginx source tree, write ``kb/catalog`` (or ``out``), print the counts.

    The tree is a checkout (or ``git archive``) of the nginx/nginx repository at the release
    tag; the release and commit are written into the data so that everyone knows what it says.
    Only the extracted data is written: no nginx source is copied into the repository.
    """
    from bot.knowledge.catalog.build import source_data, write
    from bot.knowledge.catalog.extract import extract, read_tree

    if not (source / "src" / "core" / "nginx.c").is_file():
        print(f"{source}: not an nginx source tree (no src/core/nginx.c)", file=sys.stderr)
        return 1
    extraction = extract(read_tree(source))
    target = out or builtin_kb_dir() / "catalog"
    messages = write(target, source_data(extraction, release, commit))
    print(
        f"{len(extraction.records)} records (logging calls, strings handlers return), "
        f"{messages['messages_total']} messages "
        f"({messages['with_pattern']} with a pattern), {extraction.skipped} calls with a computed format; "
        f"by level: {messages['by_level']} -> {target}"
    )
    return 0
