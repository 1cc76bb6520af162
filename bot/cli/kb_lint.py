"""Checks beyond the schema: every example matches its entry and only it, every near miss
matches nothing, every fix template renders, every regex stays linear on hostile input,
every finding has a check and passes its cases, every KB template compiles, and the ids
recipes, guides and environments name exist.

``nginx-triage kb lint`` and the test suite run the same functions, so a KB author sees
exactly what CI will say.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from bot.diagnosis.build import render_fix
from bot.diagnosis.finding_cases import check_findings
from bot.evidence.errorlog import parse_line
from bot.knowledge.catalog.lookup import Catalog, CatalogMessage
from bot.knowledge.catalog.pattern import instance, pieces
from bot.knowledge.kb_links import check_links
from bot.knowledge.loader import REQUIRED_ERROR_IDS, REQUIRED_FAQ_IDS, KnowledgeBase
from bot.knowledge.schema import ErrorEntry
from bot.matching.matcher import Matcher

REGEX_BUDGET_S = 0.05
"""Time one KB regex may take on one adversarial 10 KB line."""


def check_required(kb: KnowledgeBase) -> list[str]:
    """Required entry and FAQ ids that are missing."""
    problems = [f"required error entry missing: kb/errors/{i}.yaml" for i in REQUIRED_ERROR_IDS if i not in kb.errors]
    problems += [f"required FAQ missing: kb/faq/{i}.yaml" for i in REQUIRED_FAQ_IDS if i not in kb.faqs]
    return problems


def check_references(kb: KnowledgeBase) -> list[str]:
    """``related`` and ``faq`` ids point at entries that exist."""
    known = set(kb.errors) | set(kb.faqs)
    problems = []
    for entry in kb.errors.values():
        for ref in [*entry.related, *entry.faq]:
            if ref not in known:
                problems.append(f"{kb.sources.get(f'errors/{entry.id}')}: related/faq: unknown id {ref!r}")
    for faq in kb.faqs.values():
        for ref in faq.related:
            if ref not in known:
                problems.append(f"{kb.sources.get(f'faq/{faq.id}')}: related: unknown id {ref!r}")
    return problems


def check_examples(kb: KnowledgeBase, matcher: Matcher) -> list[str]:
    """Examples match their entry alone (by the fast path); near misses match nothing."""
    problems: list[str] = []
    for entry in kb.errors.values():
        where = kb.sources.get(f"errors/{entry.id}", entry.id)
        for i, ex in enumerate(entry.examples):
            line = parse_line(ex.line)
            hits = matcher.all_regex_matches(line)
            if not hits or hits[0][0] != entry.id:
                got = hits[0][0] if hits else None
                problems.append(f"{where}: examples.{i}: matched {got!r}, want {entry.id!r}: {ex.line[:120]}")
                continue
            rivals = [h[0] for h in hits[1:] if h[1] >= hits[0][1]]
            if rivals:
                problems.append(
                    f"{where}: examples.{i}: also matched by {', '.join(rivals)} at the same "
                    f"priority; make one more specific or set match.priority: {ex.line[:100]}"
                )
            match = matcher.match(line)
            facts = match.facts if match else {}
            for key, want in ex.facts.items():
                if facts.get(key) != want:
                    problems.append(f"{where}: examples.{i}.facts.{key}: extracted {facts.get(key)!r}, want {want!r}")
        for i, nm in enumerate(entry.near_misses):
            line = parse_line(nm.line)
            hit = matcher.match(line)
            if hit is not None:
                problems.append(
                    f"{where}: near_misses.{i}: matched {hit.kb_id!r} ({hit.method}, score {hit.score}), "
                    f"want nothing: {nm.line[:120]}"
                )
    return problems


def check_templates(kb: KnowledgeBase) -> list[str]:
    """Every fix template renders with no facts and no sizing."""
    problems = []
    for entry in kb.errors.values():
        text = render_fix(entry, {}, 0)
        if "template error" in text:
            problems.append(f"{kb.sources.get(f'errors/{entry.id}', entry.id)}: fix: {text.splitlines()[-1]}")
    return problems


def adversarial_inputs(entry: ErrorEntry) -> Iterator[str]:
    """10 KB lines built from near-matches of the entry: repeated anchors and examples."""
    size = 10_000
    for anchor in entry.match.anchors:
        yield (anchor + " ") * (size // (len(anchor) + 1))
        yield (anchor + "x" * 7) * (size // (len(anchor) + 7))
    for ex in entry.examples[:3]:
        msg = parse_line(ex.line).message
        if msg:
            yield (msg * (size // len(msg) + 1))[:size]
            yield msg[: len(msg) // 2] * (size // max(1, len(msg) // 2))
    yield from ("a" * size, " " * size, "1" * size, '"' * size, ("(24: " * size)[:size], ("/a" * size)[:size])


def _fastest_search(rx: re.Pattern[str], text: str) -> float:
    """Seconds one search takes; a slow first try is retried so a busy machine is not blamed
    on the regex (backtracking blow-ups are slow every time, by orders of magnitude)."""
    took = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        rx.search(text)
        took = min(took, time.perf_counter() - start)
        if took <= REGEX_BUDGET_S:
            break
    return took


def check_regex_speed(kb: KnowledgeBase, budget: float = REGEX_BUDGET_S) -> list[str]:
    """Every KB regex runs under ``budget`` seconds on each adversarial 10 KB line."""
    problems = []
    for entry in kb.errors.values():
        inputs = list(adversarial_inputs(entry))
        for i, pattern in enumerate(entry.match.regexes):
            rx = re.compile(pattern, re.IGNORECASE)
            for text in inputs:
                took = _fastest_search(rx, text)
                if took > budget:
                    problems.append(
                        f"{kb.sources.get(f'errors/{entry.id}', entry.id)}: match.regexes.{i}: "
                        f"{took * 1000:.0f} ms on a 10 KB near-match line (limit {budget * 1000:.0f} ms): "
                        'backtracking blow-up; bound every repetition (\\d{1,10} not \\d+, [^"]{0,512} not .*) '
                        "and avoid nested quantifiers"
                    )
                    break
    return problems


CATALOG_HOSTILE_SIZE = 10_000
_GENERIC_HOSTILE = tuple(
    (unit * (CATALOG_HOSTILE_SIZE // len(unit) + 1))[:CATALOG_HOSTILE_SIZE] for unit in ("a", " ", '"', "1")
)


def catalog_hostile_inputs(message: CatalogMessage) -> Iterator[str]:
    """10 KB lines built from one catalogue message: its anchor, its literals, a filled line."""
    size = CATALOG_HOSTILE_SIZE
    literals = [p.text for p in pieces(message.format) if p.text]
    filled = instance(message.format)
    for unit in (message.anchor or "", literals[0] + "x" * 7 if literals else "", filled, filled[: len(filled) // 2]):
        if unit:
            yield (unit * (size // len(unit) + 1))[:size]


def check_catalog_speed(catalog: Catalog, budget: float = REGEX_BUDGET_S) -> list[str]:
    """Every catalogue pattern runs under ``budget`` seconds on each hostile 10 KB line."""
    problems = []
    for message in catalog.messages:
        if not message.pattern:
            continue
        rx = re.compile(message.pattern, re.IGNORECASE)
        for text in [*catalog_hostile_inputs(message), *_GENERIC_HOSTILE]:
            took = _fastest_search(rx, text)
            if took > budget:
                problems.append(
                    f"kb/catalog message {message.id} ({message.format!r}): {took * 1000:.0f} ms on a hostile "
                    f"10 KB line (limit {budget * 1000:.0f} ms): fix bot/knowledge/catalog/pattern.py"
                )
                break
    return problems


def lint(kb: KnowledgeBase, matcher: Matcher | None = None) -> list[str]:
    """All KB problems; empty when the KB is sound."""
    matcher = matcher or Matcher(kb)
    catalog = matcher.catalog
    return (
        check_required(kb)
        + check_references(kb)
        + check_examples(kb, matcher)
        + check_templates(kb)
        + check_regex_speed(kb)
        + (check_catalog_speed(catalog) if catalog is not None else [])
        + check_links(kb)
        + check_findings(kb, matcher)
    )
