"""Group a big log with the C scanner: per-line work in C, classification once per head.

``bot/native/_fastscan.c`` splits the stream into lines and, for every line in standard
nginx form, tallies by *message head* (the message before ``, client: ``): count, first
and last time, levels, pids, client/server/upstream/host values and the first raw lines.
Python then classifies one representative line per head (the head's first line, through
``parse_line`` + ``Matcher.match``) and folds the head's aggregates into the ``Grouper``
exactly as if every line had gone through ``Grouper.add``. Lines the scanner does not
take (wrapped by journald, no date, invalid UTF-8, overlong, ...) come back to Python and
take the ordinary ``match_text`` path. Every line carries its sequence number, so samples,
first facts and tally order come out in line order as in the pure-Python path.

One assumption, the same the matcher's head cache already makes: all lines that share a
head are classified like the head's first line (same entry, same regex facts such as
``worker_connections`` or ``zone``). The entry's regexes see the whole message, context
included, so a line whose context alone would change its classification (an ``exclude``
word in a request URI, a fuzzy-only line whose masked context differs) is grouped with its
head here; the pure-Python path (``group_lines``) stays the reference and the fallback
when the extension is not built.

Memory stays flat: the scanner holds at most ``MAX_HEADS`` heads, ``MAX_DISTINCT`` values
per head and kind, and a bounded arena; when a limit is hit, Python folds the heads into
the ``Grouper`` (whose tallies are bounded too) and the scanner starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from bot.evidence.errorlog import LogLine, parse_line
from bot.evidence.reading import InputError, check_sample, past_blank_start
from bot.grouping.groups import MAX_DISTINCT, TALLIED, BoundedCounter, Grouper, MatchGroup
from bot.matching.matcher import Match, Matcher
from bot.native import fastscan
from bot.native.layout import CTX_KINDS

if TYPE_CHECKING:
    from bot.native._fastscan import Scanner

CHUNK_BYTES = 4 << 20
"""Bytes read per call; results do not depend on it (partial lines carry over)."""

MAX_HEADS = 20000
"""Distinct heads the scanner holds before Python folds them into the Grouper."""

FLUSH_PENDING = 2048
"""Lines parsed in Python (not in standard form) held before a fold."""

_SNIFF_BYTES = 65536
_CTX_KINDS = CTX_KINDS  # value kinds 1..4 of the scanner; 0 is pid
_TALLY_ORDER = {key: i for i, key in enumerate(TALLIED)}

Item = tuple[int, str, int]  # (first sequence number, value, count)


def available() -> bool:
    """True when the C extension is built and importable."""
    return fastscan is not None


@dataclass
class _Part:
    """What one head (or one Python-parsed line) adds to a group, with line order kept."""

    seq: int
    count: int
    fuzzy: int
    first_time: str | None
    last_time: str | None
    facts: dict[str, str]
    levels: list[Item] = field(default_factory=list)
    pids: list[Item] = field(default_factory=list)
    pid_other: int = 0
    tallies: dict[str, list[Item]] = field(default_factory=dict)
    tally_other: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[int, str]] = field(default_factory=list)


def _line_part(seq: int, line: LogLine, match: Match) -> _Part:
    part = _Part(seq, 1, int(match.method != "regex"), line.time, line.time, match.facts)
    if line.level:
        part.levels.append((seq, line.level, 1))
    if line.pid is not None:
        part.pids.append((seq, str(line.pid), 1))
    for key in TALLIED:
        value = match.facts.get(key)
        if value:
            part.tallies[key] = [(seq, value, 1)]
    part.samples.append((seq, line.raw))
    return part


def _bounded_add(counter: BoundedCounter, items: list[Item]) -> None:
    """``BoundedCounter.add`` for items already in first-seen order, with their counts."""
    counts = counter.counts
    limit = counter.limit
    for _seq, key, n in items:
        if key in counts or len(counts) < limit:
            counts[key] += n
        else:
            counter.other += n


class _Folder:
    """Classifies the scanner's heads and folds them, with the Python-parsed lines, into a Grouper."""

    def __init__(self, grouper: Grouper, matcher: Matcher) -> None:
        self.grouper = grouper
        self.matcher = matcher
        self.pending: list[tuple[int, LogLine, Match | None]] = []

    def drain(self, scanner: Scanner) -> None:
        """Run the scanner over its buffered lines, folding whenever a limit is reached."""
        match_text = self.matcher.match_text
        while True:
            fallback, more = scanner.run()
            pending = self.pending  # a fold replaces the list
            for seq, raw in fallback:
                line, m = match_text(raw.decode("utf-8", "replace"))
                pending.append((seq, line, m))
            if scanner.full or len(pending) >= FLUSH_PENDING:
                self.fold(scanner)
            if not more:
                break

    def fold(self, scanner: Scanner) -> None:
        """Fold everything since the last fold into the Grouper, in line order."""
        heads, blank = scanner.export()
        grouper = self.grouper
        grouper.lines += blank + len(self.pending)
        parts: dict[str, list[_Part]] = {}
        unmatched: list[tuple[int, str]] = []
        for seq, line, m in self.pending:
            if m is None:
                if line.raw.strip():
                    grouper.unmatched += 1
                    unmatched.append((seq, line.raw))
            else:
                parts.setdefault(m.kb_id, []).append(_line_part(seq, line, m))
        self.pending = []
        match = self.matcher.match
        for head in heads:
            _text, count, first_seq, t_first, t_last, levels, samples, values, others = head
            grouper.lines += count
            line = parse_line(samples[0][1])
            m = match(line)
            if m is None:
                grouper.unmatched += count
                unmatched.extend(samples)
                continue
            part = _Part(
                first_seq,
                count,
                count if m.method != "regex" else 0,
                t_first,
                t_last,
                m.facts,
                [(s, lvl, n) for lvl, n, s in levels],
                [(s, v, n) for v, n, s in values[0]],
                others[0],
                samples=samples,
            )
            facts = m.facts
            context = line.context
            for key in TALLIED:
                value = facts.get(key)
                if key in _CTX_KINDS and value == context.get(key):
                    kind = _CTX_KINDS.index(key) + 1
                    if values[kind]:
                        part.tallies[key] = [(s, v, n) for v, n, s in values[kind]]
                        part.tally_other[key] = others[kind]
                elif value:  # from the entry's regex: the same for every line of the head
                    part.tallies[key] = [(first_seq, value, count)]
            parts.setdefault(m.kb_id, []).append(part)
        if unmatched:
            room = 20 - len(grouper.unmatched_samples)
            if room > 0:
                unmatched.sort()
                grouper.unmatched_samples.extend(raw for _s, raw in unmatched[:room])
        for kb_id in sorted(parts, key=lambda k: min(p.seq for p in parts[k])):
            group = grouper.groups.get(kb_id)
            if group is None:
                group = grouper.groups[kb_id] = MatchGroup(kb_id)
            _fold_group(group, sorted(parts[kb_id], key=lambda p: p.seq))


def _fold_totals(group: MatchGroup, part: _Part) -> None:
    """Count, time span and first facts: what does not depend on line order within the parts."""
    group.count += part.count
    group.fuzzy += part.fuzzy
    for t in (part.first_time, part.last_time):
        if t is not None:
            if group.first_time is None or t < group.first_time:
                group.first_time = t
            if group.last_time is None or t > group.last_time:
                group.last_time = t
    if not group.facts and part.facts:
        group.facts = dict(part.facts)


def _fold_tallies(group: MatchGroup, parts: list[_Part]) -> None:
    """Tallies created in the order their first value appeared, values counted in line order."""
    tallies: dict[str, list[Item]] = {}
    for part in parts:
        for key, items in part.tallies.items():
            tallies.setdefault(key, []).extend(items)
    firsts = []
    for key, items in tallies.items():
        items.sort()
        firsts.append((items[0][0], _TALLY_ORDER[key], key))
    for _s, _o, key in sorted(firsts):
        tally = group.tallies.get(key)
        if tally is None:
            tally = group.tallies[key] = BoundedCounter()
        _bounded_add(tally, tallies[key])
    for part in parts:
        for key, n in part.tally_other.items():
            if n:
                group.tallies[key].other += n


def _fold_group(group: MatchGroup, parts: list[_Part]) -> None:
    """``MatchGroup.add`` for every line the parts stand for, in line order."""
    for part in parts:
        _fold_totals(group, part)
    for _s, lvl, n in sorted(item for part in parts for item in part.levels):
        group.levels[lvl] += n
    group.pids.other += sum(part.pid_other for part in parts)
    _bounded_add(group.pids, sorted(item for part in parts for item in part.pids))
    _fold_tallies(group, parts)
    room = 3 - len(group.samples)
    if room > 0:
        samples = sorted(sample for part in parts for sample in part.samples)
        group.samples.extend(raw for _s, raw in samples[:room])


def group_stream_native(
    stream: BinaryIO,
    name: str,
    matcher: Matcher,
    *,
    grouper: Grouper | None = None,
    on_bytes: Callable[[int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    max_heads: int = MAX_HEADS,
) -> Grouper:
    """Group every line of ``stream`` like ``group_lines(iter_lines_binary(stream, name), matcher)``.

    Lines are added to ``grouper`` when given (a fresh one otherwise) and it is returned.
    Raises ``InputError`` for binary or empty input, as ``iter_lines_binary`` does.
    """
    if fastscan is None:
        raise RuntimeError("the bot.native._fastscan extension is not built")
    grouper = grouper if grouper is not None else Grouper()
    first = stream.read(_SNIFF_BYTES)
    check_sample(first, name)
    # As iter_lines_binary: a blank start is not an empty input, and CRLF and CR-only line
    # ends both end a line (a CR at a chunk's end waits for the next chunk's first byte).
    data, text_seen = past_blank_start(stream, first, name)
    scanner: Scanner = fastscan.Scanner(max_heads=max_heads, max_distinct=MAX_DISTINCT)
    folder = _Folder(grouper, matcher)
    held = b""
    while data:
        buf = held + data if held else data
        held = b""
        if buf.endswith(b"\r"):
            buf, held = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        scanner.feed(buf)
        folder.drain(scanner)
        if on_bytes is not None:
            on_bytes(len(data))
        data = stream.read(chunk_bytes)
        if not text_seen and data.strip():
            text_seen = True
    if held:
        scanner.feed(b"\n")  # a lone CR at the very end still ends the last line
    if not text_seen:
        raise InputError(f"{name}: empty input; paste NGINX error-log lines or pass a log file")
    scanner.finish()
    folder.drain(scanner)
    folder.fold(scanner)
    return grouper
