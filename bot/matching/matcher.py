"""Match parsed log lines against the knowledge base.

Fast path: one Aho-Corasick pass over the lower-cased message finds which entries' literal
anchors occur; only those entries' regexes run. Slow path, for lines the fast path misses
(retyped, translated, cut short): rapidfuzz over masked templates, with a threshold, so
that mangled nginx lines still land and other software's lines do not.

The NGINX message catalogue (``kb/catalog``) keeps the slow path honest: a line that is,
word for word, a known nginx message is not handed to an entry by resemblance unless that
entry's own examples or formats are that message. Such a line is answered by the
catalogue instead (``catalog_message``), never by a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, cast

import ahocorasick

from bot.evidence.errorlog import LogLine, parse_line
from bot.knowledge.loader import KnowledgeBase
from bot.lazy_re import lazy_compile
from bot.matching.syscall_errno import errno_kind

if TYPE_CHECKING:
    from bot.knowledge.catalog.lookup import Catalog, CatalogMessage
    from bot.knowledge.schema import ErrorEntry

FUZZY_THRESHOLD = 88.0
"""Minimum rapidfuzz score (0-100) for a fuzzy match; calibrated on examples and near misses."""

HEAD_CACHE_SIZE = 4096
"""Message heads remembered with their winning entry; cleared when full (memory stays flat).
Heads of distinct lines average ~400 bytes with the entry: 20,000 of them held ~8 MB per
worker process, the whole growth a 20,000-paste soak of ``serve`` showed; 4,096 hold ~1.6 MB
and still cover the kinds of line a log repeats."""

FUZZY_MIN_CHARS = 18
"""Shorter masked messages carry too little wording to match fuzzily."""

# Lines that are certainly not nginx error-log lines; fuzzy matching must not guess on them.
_NOT_NGINX = lazy_compile(
    r"""(?:
        # access log: "METHOD ..." STATUS
        "\s?(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|PROPFIND|-|\\x[0-9A-F]{2})[^"]{0,4096}"\s[0-9]{3}\s
      | \bAH[0-9]{5}:                                   # Apache
      | ^\[pid:\s[0-9]{1,20}\|app:                           # uWSGI
      | \bswSSL_|\bWARNING\t                         # Swoole
      | \bINFO\s(?:exited|spawned|success):          # supervisord
      | ^nginx:\s(?:the\s)?configuration\sfile\s[^\s]+\s(?:syntax\sis\sok|test\sis\ssuccessful)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Match:
    """The entry a line matched, how sure, and the facts read from it."""

    kb_id: str
    score: float
    method: str  # "regex" or "fuzzy"
    facts: dict[str, str]


@dataclass
class _Compiled:
    entry: ErrorEntry
    exclude: tuple[str, ...]
    errno: frozenset[int]
    priority: int
    message_levels: frozenset[str]
    _regexes: tuple[re.Pattern[str], ...] | None = None

    @property
    def regexes(self) -> tuple[re.Pattern[str], ...]:
        """The entry's regexes, compiled when an anchor first selects the entry: compiling all
        of them costs more than a short paste's whole diagnosis, and most never run."""
        if self._regexes is None:
            self._regexes = tuple(re.compile(r, re.IGNORECASE) for r in self.entry.match.regexes)
        return self._regexes


_BUNDLED = object()


_BLANK: dict[str, LogLine] = {}
"""Parsed blank lines by their text (immutable, so shared); bounded."""


class Matcher:
    """Classifies lines; build once per knowledge base, reuse for every line."""

    def __init__(self, kb: KnowledgeBase, catalog: Catalog | object | None = _BUNDLED) -> None:
        """``catalog``: the message catalogue (default: the bundled one, read on first need; None: none)."""
        self.kb = kb
        if catalog is not _BUNDLED and catalog is not None:
            from bot.knowledge.catalog.lookup import Catalog

            if not isinstance(catalog, Catalog):
                catalog = None
        self._catalog = catalog
        self._explained: dict[str, frozenset[str]] = {}
        self._entries: list[_Compiled] = []
        self._automaton = ahocorasick.Automaton()
        anchor_owners: dict[str, set[int]] = {}
        for idx, entry in enumerate(sorted(kb.errors.values(), key=lambda e: e.id)):
            self._entries.append(
                _Compiled(
                    entry=entry,
                    exclude=tuple(x.lower() for x in entry.match.exclude),
                    errno=frozenset(entry.match.errno),
                    priority=entry.match.priority,
                    message_levels=frozenset(entry.match.message_levels),
                )
            )
            for anchor in entry.match.anchors:
                anchor_owners.setdefault(anchor.lower(), set()).add(idx)
        for anchor, owners in anchor_owners.items():
            self._automaton.add_word(anchor, tuple(sorted(owners)))
        self._automaton.make_automaton()
        self.anchors: tuple[str, ...] = tuple(sorted(anchor_owners))
        self._fuzzy_index: tuple[list[str], list[int]] | None = None
        # head -> (winning entry, other entries whose rules also accepted the line)
        self._head_cache: dict[str, tuple[int, str]] = {}
        self._fuzzy_cached = lru_cache(maxsize=4096)(self._fuzzy_uncached)
        self._index = {comp.entry.id: idx for idx, comp in enumerate(self._entries)}

    def structure_sizes(self) -> dict[str, tuple[int, int]]:
        """Items held and the bound of each cache, for the long-running bot's metrics."""
        fuzzy = self._fuzzy_cached.cache_info()
        return {
            "matcher_heads": (len(self._head_cache), HEAD_CACHE_SIZE),
            "matcher_fuzzy": (fuzzy.currsize, fuzzy.maxsize or 0),
        }

    def _fuzzy_templates(self) -> tuple[list[str], list[int]]:
        """Masked message shapes for the fuzzy path and the entry each belongs to (built on the
        first line that needs fuzzy matching: a clean paste never does)."""
        if self._fuzzy_index is None:
            from bot.matching.masking import mask, mask_format

            templates: list[str] = []
            owners: list[int] = []
            for idx, comp in enumerate(self._entries):
                shapes = {mask_format(m.format) for m in comp.entry.messages}
                shapes |= {mask(parse_line(ex.line).message) for ex in comp.entry.examples}
                for shape in sorted(s for s in shapes if len(s) >= FUZZY_MIN_CHARS):
                    templates.append(shape)
                    owners.append(idx)
            self._fuzzy_index = (templates, owners)
        return self._fuzzy_index

    # -- the message catalogue -----------------------------------------------------------

    @property
    def catalog(self) -> Catalog | None:
        """The message catalogue, loaded on first use (None when there is none)."""
        if self._catalog is _BUNDLED:  # the catalogue's modules are imported with it, on first need
            from bot.knowledge.catalog.lookup import load_catalog

            self._catalog = load_catalog()
        return cast("Catalog | None", self._catalog)

    def catalog_message(self, line: LogLine, *, use_level: bool = True) -> CatalogMessage | None:
        """The nginx message this line is, by the catalogue (for lines no entry explains)."""
        catalog = self.catalog
        if catalog is None:
            return None
        return catalog.lookup(line.message, line.level if use_level else None)

    def explained_by(self, kb_id: str) -> frozenset[str]:
        """Catalogue message ids an entry explains: those its examples and its formats are."""
        known = self._explained.get(kb_id)
        if known is None:
            catalog = self.catalog
            entry = self.kb.errors[kb_id]
            ids: set[str] = set()
            if catalog is not None:
                from bot.knowledge.catalog.pattern import instance

                texts = [parse_line(ex.line) for ex in entry.examples]
                texts += [parse_line(instance(m.format)) for m in entry.messages]
                for line in texts:
                    hit = catalog.lookup(line.message)
                    if hit is not None:
                        ids.add(hit.id)
            known = self._explained[kb_id] = frozenset(ids)
        return known

    # -- fast path -------------------------------------------------------------------

    def _candidates(self, lowered: str) -> set[int]:
        found: set[int] = set()
        for _end, owners in self._automaton.iter(lowered):
            found.update(owners)
        return found

    def _try(self, comp: _Compiled, line: LogLine, lowered: str, kind: str) -> dict[str, str] | None:
        """The entry's facts when its rules accept the line; ``kind`` is ``errno_kind(line)``."""
        if comp.errno and (kind != "syscall" or line.errno not in comp.errno):
            return None
        for ex in comp.exclude:
            if ex in lowered:
                return None
        for rx in comp.regexes:
            m = rx.search(line.message)
            if m is not None:
                if comp.message_levels and not self._message_level_ok(comp, line):
                    return None
                return {k: v for k, v in m.groupdict().items() if v is not None}
        return None

    def _message_level_ok(self, comp: _Compiled, line: LogLine) -> bool:
        """False when the catalogue knows the line as a message nginx logs at another level."""
        catalog = self.catalog
        hits = catalog.matches(line.message) if catalog is not None else []
        if not hits:
            return True
        best = [h for h in hits if h.literal_chars == hits[0].literal_chars]  # one text, several levels
        return any(h.level in comp.message_levels or h.level == "runtime" for h in best)

    def all_regex_matches(self, line: LogLine) -> list[tuple[str, int, dict[str, str]]]:
        """Every entry whose fast-path rules accept the line: (id, priority, facts)."""
        lowered = line.message.lower()
        kind = errno_kind(line)
        out = []
        for idx in self._candidates(lowered):
            comp = self._entries[idx]
            facts = self._try(comp, line, lowered, kind)
            if facts is not None:
                out.append((comp.entry.id, comp.priority, facts))
        return sorted(out, key=lambda t: (-t[1], t[0]))

    def match_fast(self, line: LogLine) -> Match | None:
        """The fast path alone: anchors, errno and regexes, highest priority wins.

        Lines of one kind repeat with different context, so the winning entry is cached
        by the message head (the text before ``, client:``); a hit runs one regex only.
        """
        message = line.message
        cut = message.find(", client: ")
        head = message if cut < 0 else message[:cut]
        cached = self._head_cache.get(head)
        if cached is not None:
            comp = self._entries[cached[0]]
            kind = errno_kind(line)
            facts = self._try(comp, line, message.lower(), kind)
            if facts is not None:
                return Match(comp.entry.id, 1.0, "regex", self._facts(line, facts, kind, cached[1]))
        found = self._match_uncached(line)
        if found is not None:
            if len(self._head_cache) >= HEAD_CACHE_SIZE:
                self._head_cache.clear()
            self._head_cache[head] = (found[0], found[1].facts.get("also_explained_by", ""))
            return found[1]
        return None

    def _match_uncached(self, line: LogLine) -> tuple[int, Match] | None:
        """The highest-priority entry whose rules accept the line; the others that also do are
        named in the ``also_explained_by`` fact, so the answer shows which entries competed."""
        lowered = line.message.lower()
        cands = self._candidates(lowered)
        if not cands:
            return None
        kind = errno_kind(line)
        ordered = sorted(cands, key=lambda i: (-self._entries[i].priority, self._entries[i].entry.id))
        for n, idx in enumerate(ordered):
            comp = self._entries[idx]
            facts = self._try(comp, line, lowered, kind)
            if facts is not None:
                others = [self._entries[i] for i in ordered[n + 1 :]]
                also = ", ".join(o.entry.id for o in others if self._try(o, line, lowered, kind) is not None)
                return idx, Match(comp.entry.id, 1.0, "regex", self._facts(line, facts, kind, also))
        return None

    def _facts(self, line: LogLine, found: dict[str, str], kind: str, also: str = "") -> dict[str, str]:
        """Prefix and context facts, then the entry's own; no errno that is not one.

        A configuration error names its file and line; when its text does not name the
        directive, the catalogue does (``invalid URL prefix`` is logged by proxy_pass's
        handler), so the fix can say which directive on that line to look at.
        """
        merged = line.facts()
        if "errno" in merged and kind in ("verify", "relayed"):
            del merged["errno"]
        merged.update(found)
        if also:
            merged["also_explained_by"] = also
        if "line" in found and "file" in found and "directive" not in found:
            known = self.catalog_message(line, use_level=False)
            if known is not None and len(known.directives) == 1:
                merged["directive"] = known.directives[0]
        return merged

    # -- slow path -------------------------------------------------------------------

    def _fuzzy_uncached(self, shape: str) -> tuple[int, float] | None:
        from rapidfuzz import fuzz, process  # only lines the fast path misses come here

        templates, owners = self._fuzzy_templates()
        best = process.extractOne(shape, templates, scorer=fuzz.WRatio, score_cutoff=FUZZY_THRESHOLD)
        if best is None:
            return None
        _tmpl, score, pos = best
        # A short query inside a long template scores high with partial matching; demand
        # that the query also covers a fair share of the template's own wording.
        if len(shape) < 0.4 * len(templates[pos]) and fuzz.ratio(shape, _tmpl) < 60:
            return None
        return owners[pos], float(score)

    def match_fuzzy(self, line: LogLine, rejected: frozenset[int] = frozenset()) -> Match | None:
        """Fuzzy fallback over masked templates; None for lines that are clearly not nginx.

        ``rejected`` are entries whose anchors occur in the line but whose rules said no:
        the fast path has examined those and fuzzy matching must not overrule it (every
        ``FastCGI sent in stderr: "..."`` masks alike, but only one is "Primary script unknown").
        """
        if _NOT_NGINX.search(line.raw):
            return None
        from bot.matching.masking import mask

        shape = mask(line.message)
        if len(shape) < FUZZY_MIN_CHARS:
            return None
        hit = self._fuzzy_cached(shape)
        if hit is None:
            return None
        idx, score = hit
        if idx in rejected:
            return None
        comp = self._entries[idx]
        kind = errno_kind(line)
        if comp.errno and line.errno is not None and (kind != "syscall" or line.errno not in comp.errno):
            return None
        if comp.message_levels and not self._message_level_ok(comp, line):
            return None
        lowered = line.message.lower()
        if any(ex in lowered for ex in comp.exclude):
            return None
        facts = line.facts()
        if "errno" in facts and kind in ("verify", "relayed"):
            del facts["errno"]
        return Match(comp.entry.id, round(score / 100.0, 3), "fuzzy", facts)

    def match(self, line: LogLine) -> Match | None:
        """Best match for a parsed line, or None.

        A fuzzy guess is dropped when the catalogue knows the line as an nginx message that
        the guessed entry does not explain (``no host in upstream ""`` only resembles
        ``host not found in upstream``). The lookup uses the message head only, as the C
        grouping path does, so both paths give the same answer.
        """
        found = self.match_fast(line)
        if found is not None:
            return found
        guess = self.match_fuzzy(line, frozenset(self._candidates(line.message.lower())))
        if guess is None:
            return None
        known = self.catalog_message(line, use_level=False)
        if known is not None and known.id not in self.explained_by(guess.kb_id):
            return None
        return guess

    def match_text(self, raw: str) -> tuple[LogLine, Match | None]:
        """Parse and match one raw line (a blank one at once: a paste may hold tens of thousands)."""
        if not raw or raw.isspace():
            line = _BLANK.get(raw)
            if line is None:
                line = parse_line(raw)
                if len(_BLANK) < 256:
                    _BLANK[raw] = line
            return line, None
        line = parse_line(raw)
        return line, self.match(line)

    def warm(self, lines: Iterable[str]) -> None:
        """Do now what classifying ``lines`` would do on first use (compile the entries'
        regexes, read the catalogue, build the fuzzy index, import the scorer), leaving the
        head cache as it was, so that no later answer depends on these lines.

        For a parent about to fork workers (``bot.cli.parallel``): each would otherwise pay
        for the same first uses, ~0.1 s of CPU on a mixed log, after the fork.
        """
        heads = dict(self._head_cache)
        for raw in lines:
            self.match_text(raw)
        self._head_cache = heads

    def match_lines(self, lines: Iterable[str]) -> Iterable[tuple[LogLine, Match | None]]:
        """Parse and match many raw lines lazily."""
        for raw in lines:
            yield self.match_text(raw)
