"""What a thread's pastes were read into, kept between its turns (bounded, with its size for /metrics).

The diagnosis is recomputed from every paste of the thread on every turn (a restarted bot or
another replica continues from the stored pastes alone), and a turn that brings a paste
diagnoses twice: before it (what changed) and after it. Reading is what costs: a 10,000-line
upload is sniffed, parsed and matched in about a second. So the engine keeps, per thread
state it has read, the ``Collected`` evidence (a private copy) and the diagnoses made from
it, keyed by the digests of the pastes in order. The next turn of that thread finds its
"before" diagnosis here, and reads only its new paste on top of a copy of the evidence.

Only complete reads are kept (never one the turn's time budget cut short), entries are
copied in and out, so no turn sees another's changes, and the result is the same as reading
every paste again: pastes are read in order into one ``Collected`` either way.
"""

from __future__ import annotations

import contextlib
import copy
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Diagnosis
from bot.hashing import blake2b

READS_BOUND = 8
"""Thread states kept per engine (per worker process): the threads being talked in right now.
Each holds grouped counts (bounded per group), parsed configuration and at most
``ENV_SAMPLE_CHARS`` of raw text, never the pastes' log lines."""
READS_CHARS_BOUND = 8_000_000
"""Pasted characters the kept states stand for, all together (least recently used out first;
the newest is kept whatever its size). What a state holds grows with its pastes: about 1 MB
for a 1.3 MB error log, 10 MB for a 0.75 MB ``nginx -T`` of 2,000 servers."""

DIAGNOSES_PER_ENTRY = 4
"""Diagnoses kept per thread state (by target concurrency and environment)."""

DiagnosisKey = tuple[int | None, str | None]
"""What a diagnosis depends on besides the evidence: (target concurrency, environment)."""


def paste_keys(pastes: Sequence[str]) -> list[bytes]:
    """One key per prefix of ``pastes``: ``keys[i]`` names ``pastes[: i + 1]`` in that order."""
    keys: list[bytes] = []
    chain = b""
    for text in pastes:
        own = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        chain = blake2b(chain + own, digest_size=16).digest()
        keys.append(chain)
    return keys


def private_copy(ev: Collected) -> Collected:
    """A deep copy sharing nothing that a turn changes with ``ev``. Shared: the file mapper (a
    function) and the parsed ``nginx -T`` (``NginxConfig``: built once by ``parse_dump``,
    read-only after, and a dump of 2,000 servers takes about as long to copy as to parse)."""
    shared: dict[int, object] = {id(ev.map_files): ev.map_files}
    if ev.config is not None:
        shared[id(ev.config)] = ev.config
    return copy.deepcopy(ev, shared)


@dataclass
class _Entry:
    evidence: Collected
    chars: int
    """Pasted characters this state was read from."""
    diagnoses: dict[DiagnosisKey, Diagnosis] = field(default_factory=dict)


class ThreadReads:
    """Evidence read from a thread's pastes, and diagnoses made from it, by paste keys (LRU).

    A worker's turn threads share it without a lock (the engine imports no threading): every
    step is one ``OrderedDict`` or ``dict`` call on bytes keys, atomic under the GIL; what is
    kept is never changed afterwards (copies go in and out), and an entry another thread
    evicted meanwhile only means a paste is read again.
    """

    def __init__(self, bound: int = READS_BOUND, chars_bound: int = READS_CHARS_BOUND) -> None:
        self.bound = bound
        self.chars_bound = chars_bound
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def _get(self, key: bytes) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            with contextlib.suppress(KeyError):  # evicted by another thread just now: still usable
                self._entries.move_to_end(key)
        return entry

    def diagnosis(self, key: bytes, how: DiagnosisKey) -> Diagnosis | None:
        """A copy of the diagnosis made from the pastes ``key`` names, when one was made here."""
        entry = self._get(key)
        found = entry.diagnoses.get(how) if entry is not None else None
        return copy.deepcopy(found) if found is not None else None

    def evidence(self, keys: Sequence[bytes]) -> tuple[int, Collected | None]:
        """(n, a private copy of what ``pastes[:n]`` were read into) for the longest prefix kept;
        (0, None) when none is."""
        for n in range(len(keys), 0, -1):
            entry = self._get(keys[n - 1])
            if entry is not None:
                return n, private_copy(entry.evidence)
        return 0, None

    def keep(self, key: bytes, ev: Collected, chars: int) -> None:
        """Keep a private copy of ``ev``, complete evidence of the pastes ``key`` names
        (``chars`` pasted characters)."""
        if ev.stopped or self.bound < 1:
            return
        entries = self._entries
        entries[key] = _Entry(private_copy(ev), chars)
        with contextlib.suppress(KeyError):
            entries.move_to_end(key)
            while len(entries) > self.bound or (len(entries) > 1 and self.chars() > self.chars_bound):
                entries.popitem(last=False)

    def keep_diagnosis(self, key: bytes, how: DiagnosisKey, diagnosis: Diagnosis) -> None:
        """Keep a copy of the diagnosis made from the evidence kept under ``key`` (a few per
        entry: one per target concurrency and environment the thread was diagnosed with)."""
        entry = self._entries.get(key)
        if entry is not None and (how in entry.diagnoses or len(entry.diagnoses) < DIAGNOSES_PER_ENTRY):
            entry.diagnoses[how] = copy.deepcopy(diagnosis)

    def chars(self) -> int:
        """Pasted characters the kept states stand for (``list`` takes the values in one step)."""
        return sum(entry.chars for entry in list(self._entries.values()))

    def size(self) -> tuple[int, int]:
        """(thread states held, bound), for the long-running bot's metrics."""
        return len(self._entries), self.bound

    def chars_size(self) -> tuple[int, int]:
        """(pasted characters the kept states stand for, bound), for the metrics."""
        return self.chars(), self.chars_bound
