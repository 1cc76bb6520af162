"""``nginx-triage kb gaps``: the log lines nothing in the KB matched, most frequent first.

This is the queue for growing the knowledge base: each row is one nginx message from the
catalogue (or, for lines the catalogue does not know, one shape of line with values masked),
with a redacted sample to write the new entry's ``examples`` from and, when known, which
nginx module logs it and where in the source.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.evidence.errorlog import parse_line
from bot.store import Gap, Store, StoreError
from bot.store.unmatched import catalog_message

FORMATS = ("text", "json")


def _catalog(sample: str) -> dict[str, object] | None:
    known = catalog_message(sample)
    return known.to_json(parse_line(sample).context.get("upstream")) if known is not None else None


def gap_to_dict(gap: Gap) -> dict[str, object]:
    """JSON shape of one gap: ISO-8601 UTC times, the fingerprint, the catalogue message if known."""
    return {
        "sample": gap.sample,
        "count": gap.count,
        "first_seen": gap.first_seen.isoformat(),
        "last_seen": gap.last_seen.isoformat(),
        "fingerprint": gap.fingerprint,
        "catalog": _catalog(gap.sample),
    }


def _table(gaps: list[Gap]) -> Table:
    table = Table(title="Log lines nothing matched (most frequent first)", title_justify="left")
    table.add_column("count", justify="right")
    table.add_column("last seen (UTC)", no_wrap=True)
    table.add_column("first seen (UTC)", no_wrap=True)
    table.add_column("nginx message (catalogue) / sample", overflow="fold")
    for g in gaps:
        known = _catalog(g.sample)
        cell = Text()
        if known:
            cell.append(f"{known['format']}  [{known['level']}] {known['module']}, {known['source']}\n", style="bold")
        # Text, not markup: samples are log lines full of "[error]"-style brackets.
        cell.append(g.sample)
        table.add_row(
            str(g.count),
            g.last_seen.strftime("%Y-%m-%d %H:%M"),
            g.first_seen.strftime("%Y-%m-%d %H:%M"),
            cell,
        )
    return table


def gaps_command(limit: int, fmt: str, url: str | None = None) -> int:
    """Print the gaps; exit code 0 ok, 1 database unusable, 2 bad arguments (DESIGN.md)."""
    err = Console(stderr=True, highlight=False)
    if fmt not in FORMATS:
        err.print(f"nginx-triage: --format must be one of {', '.join(FORMATS)}, not {fmt!r}", markup=False)
        return 2
    if limit < 1:
        err.print(f"nginx-triage: --limit must be at least 1, not {limit}", markup=False)
        return 2
    try:
        with Store(url) as store:
            gaps = store.gaps(limit)
    except StoreError as exc:
        err.print(f"nginx-triage: {exc}", markup=False, soft_wrap=True)
        return 1
    if fmt == "json":
        json.dump([gap_to_dict(g) for g in gaps], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    out = Console(highlight=False)
    if not gaps:
        out.print("No unmatched lines recorded yet: every line the bot saw matched a KB entry.", markup=False)
        return 0
    out.print(_table(gaps))
    return 0
