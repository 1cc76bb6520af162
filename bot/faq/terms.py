"""Turn a question or an entry's text into index terms: the same steps on both sides.

Lower case, the KB's synonym phrases (``kb/faq/synonyms.yaml``) become one term each, then
words: English stop words and the KB's filler words go, and the rest is stemmed (Snowball,
via PyStemmer) unless it is an identifier such as ``worker_connections`` or ``502``, which
only match as written. A question's words that no entry uses are corrected to the closest
word the entries do use when they are plainly a typo of it (``worker_conections``).

PyStemmer and bm25s's stop-word list are imported on first use, not at import time: the
CLI's other commands never pay for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING

from bot.evidence.numbers import is_number
from bot.lazy_re import lazy_compile

if TYPE_CHECKING:
    from bot.knowledge.vocabulary_schema import Vocabulary


KEEP_WORDS = frozenset({"no", "not", "too", "off", "down", "up", "over", "before", "after", "all"})
"""Stop words that tell NGINX errors apart ("no live upstreams", "not enough", "too many",
"before the response") and so stay terms."""

TYPO_MIN_LENGTH = 5
"""Shorter unknown words are left alone: ``poem`` is no typo of ``pool``."""

TYPO_MIN_RATIO = 80.0
"""rapidfuzz ratio (0-100) an unknown word needs with a known one to count as its typo:
one swapped or dropped letter in a word of five or more (``relaod``: 83, ``conections``: 95),
not a different word (``weather`` / ``either``: 77)."""

_WORD = lazy_compile(r"[a-z0-9_]+")
# What a pasted log fragment carries besides words: dates, times, addresses and ports.
_NOISE = lazy_compile(
    r"[0-9]{4}/[0-9]{2}/[0-9]{2}|[0-9]{1,2}:[0-9]{2}:[0-9]{2}|\[?[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\]?(?::[0-9]{1,5})?"
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?",
    re.IGNORECASE,
)
_IDENTIFIER = lazy_compile(r"^(?:[a-z0-9]+_[a-z0-9_]+|[0-9][a-z0-9]*)$")


@cache
def _stemmer() -> Callable[[str], str]:
    import Stemmer  # PyStemmer: the Snowball stemmers, compiled

    stem: Callable[[str], str] = Stemmer.Stemmer("english").stemWord
    return stem


@cache
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) - KEEP_WORDS


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    """One alternation of the phrases, longest first, each only as a whole word (``wc``, not ``wcs``)."""
    if not phrases:
        return None
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(re.escape(p) for p in ordered) + r")(?![A-Za-z0-9_])")


class Analyzer:
    """The text-to-terms pipeline for one vocabulary; one per index."""

    def __init__(self, vocabulary: Vocabulary | None) -> None:
        groups = vocabulary.synonyms if vocabulary is not None else []
        self._canonical: dict[str, str] = {p: g.term for g in groups for p in g.same}
        self._terms = frozenset(g.term for g in groups)
        self._exact = _phrase_pattern([p for p in self._canonical if p != p.lower()])
        self._phrase = _phrase_pattern([p for p in self._canonical if p == p.lower()])
        self._drop = _stop_words() | frozenset(vocabulary.ignore if vocabulary is not None else ())
        self._known: list[str] = []
        self._known_set: frozenset[str] = frozenset()

    def words(self, text: str) -> list[str]:
        """Lower-case words after synonym phrases became their term; stop and filler words dropped."""
        text = _NOISE.sub(" ", text)
        if self._exact is not None:
            text = self._exact.sub(lambda m: f" {self._canonical[m.group(0)]} ", text)
        folded = text.lower()
        if self._phrase is not None:
            folded = self._phrase.sub(lambda m: f" {self._canonical[m.group(0)]} ", folded)
        return [w for w in _WORD.findall(folded) if w not in self._drop]

    def term(self, word: str) -> str:
        """The index term of one word: identifiers and synonym terms as written, other words stemmed."""
        if word in self._terms or _IDENTIFIER.match(word):
            return word
        return _stemmer()(word)

    def terms(self, text: str) -> list[str]:
        """The index terms of an entry's text (the words it knows)."""
        return [self.term(w) for w in self.words(text)]

    def learn(self, words: Iterable[str]) -> None:
        """Remember the words the entries use: a question's unknown word is corrected towards them."""
        self._known_set = frozenset(words)
        self._known = sorted(self._known_set)

    def query_terms(self, text: str) -> list[str]:
        """The index terms of a question, typos of known words corrected first."""
        out = []
        for word in self.words(text):
            if word not in self._known_set:
                if is_number(word):
                    continue  # a number no entry names (a port, a count) says nothing about the topic
                if len(word) >= TYPO_MIN_LENGTH:
                    word = self._closest(word) or word
            out.append(self.term(word))
        return out

    def _closest(self, word: str) -> str | None:
        """The known word ``word`` is a typo of: same first letter, close enough (``TYPO_MIN_RATIO``)."""
        from rapidfuzz import fuzz, process  # only when a word is unknown: not at start-up

        candidates = [k for k in self._known if k[0] == word[0]]
        best = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=TYPO_MIN_RATIO)
        return str(best[0]) if best else None
