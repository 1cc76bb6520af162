"""How much of nginx's message catalogue the curated KB entries explain (``kb stats``).

A catalogue message counts as explained when a curated entry's examples are that message
(``Matcher.explained_by``), or when a line nginx would print for it - the format with
every hole filled (``pattern.instance``) - is matched by an entry's rules. The second
test alone would miss entries gated on the errno nginx appends at run time; the first
alone would miss messages an entry covers without an example of each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.evidence.errorlog import parse_line
from bot.knowledge.catalog.lookup import CatalogMessage
from bot.knowledge.catalog.pattern import instance
from bot.matching.matcher import Matcher


@dataclass
class CatalogCoverage:
    """Catalogue size, and which messages curated entries explain."""

    release: str
    commit: str
    total: int
    with_pattern: int
    by_level: dict[str, int]
    explained: dict[str, list[str]] = field(default_factory=dict)  # message id -> entry ids
    explained_by_level: dict[str, int] = field(default_factory=dict)
    per_entry: dict[str, int] = field(default_factory=dict)

    @property
    def explained_count(self) -> int:
        return len(self.explained)

    def to_json(self) -> dict[str, object]:
        """JSON shape of ``kb stats --format json``."""
        return {
            "nginx_release": self.release,
            "nginx_commit": self.commit,
            "messages": self.total,
            "with_pattern": self.with_pattern,
            "by_level": self.by_level,
            "explained_by_curated": self.explained_count,
            "explained_by_level": self.explained_by_level,
            "per_entry": self.per_entry,
        }


def _entries_for(message: CatalogMessage, matcher: Matcher, by_examples: dict[str, set[str]]) -> list[str]:
    found = set(by_examples.get(message.id, ()))
    if message.pattern:
        text = instance(message.format)
        if message.in_file:  # as nginx prints it: ngx_conf_log_error adds the file and line
            text += " in /etc/nginx/nginx.conf:1"
        if message.level in ("emerg", "alert", "crit", "error", "warn"):
            text = f"nginx: [{message.level}] {text}"
        for kb_id, _priority, _facts in matcher.all_regex_matches(parse_line(text)):
            found.add(kb_id)
    return sorted(found)


def catalog_coverage(matcher: Matcher) -> CatalogCoverage | None:
    """Coverage of the matcher's catalogue by its KB; None when there is no catalogue."""
    catalog = matcher.catalog
    if catalog is None:
        return None
    by_examples: dict[str, set[str]] = {}
    for kb_id in sorted(matcher.kb.errors):
        for message_id in matcher.explained_by(kb_id):
            by_examples.setdefault(message_id, set()).add(kb_id)
    levels = Counter(m.level for m in catalog.messages)
    report = CatalogCoverage(
        release=catalog.release,
        commit=catalog.commit,
        total=len(catalog.messages),
        with_pattern=sum(1 for m in catalog.messages if m.pattern),
        by_level=dict(sorted(levels.items(), key=lambda kv: -kv[1])),
    )
    explained_levels: Counter[str] = Counter()
    per_entry: Counter[str] = Counter()
    for message in catalog.messages:
        entries = _entries_for(message, matcher, by_examples)
        if entries:
            report.explained[message.id] = entries
            explained_levels[message.level] += 1
            per_entry.update(entries)
    report.explained_by_level = {lvl: explained_levels.get(lvl, 0) for lvl in report.by_level}
    report.per_entry = dict(sorted(per_entry.items(), key=lambda kv: (-kv[1], kv[0])))
    return report
