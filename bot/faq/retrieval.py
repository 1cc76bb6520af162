"""Ranked retrieval over the knowledge base's answers: BM25 (bm25s) over FAQ and error entries.

Each answer is one document. A FAQ is its question and every alternate phrasing; an error
entry is its title and the messages nginx writes for it (formats and anchors), so "what
does upstream prematurely closed mean" finds the entry whose messages say so. Entry-level
documents keep IDF honest: a word is rare when few *answers* use it, however many phrasings
one FAQ repeats it in.

The index is small (dozens of documents). bm25s builds it (the float32 BM25 weight of every
term in every document); the weights are then kept as plain postings and a question is scored
from them in Python with bm25s's float32 sums, so the scores are bm25s's to the last bit. A
one-shot ``ask`` reads the finished index from the user's cache
(``bot.faq.retrieval_cache``) and never imports bm25s or numpy; otherwise they are imported on
the first question, so commands that never ask one do not load them.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.faq.terms import Analyzer
from bot.knowledge.loader import KnowledgeBase
from bot.lazy_re import lazy_compile

Kind = Literal["faq", "error"]

BM25_K1 = 1.2
"""Term-frequency saturation: a word repeated in many phrasings of one FAQ counts a little more, not linearly."""

BM25_B = 0.5
"""Length normalisation, lower than the usual 0.75: a FAQ with fifteen phrasings is long on
purpose and must not lose to a two-line error entry on that account alone."""

UNKNOWN_WORD_WEIGHT = 2.0
"""A question's word that no entry uses weighs this many times the rarest known word: such a
word often names what the question is really about ("apache", "ssh", "haiku")."""

_PRINTF = lazy_compile(r"%[-+ #0-9.*]*[a-zA-Z]+")
_ERRNO_ANCHOR = lazy_compile(r"^\((\d{1,3}):$")


def _errno_texts(numbers: Iterable[int]) -> list[str]:
    """The C library's words for each errno ("Permission denied" for 13): what the log line
    says after the number, and what people type when they ask about it."""
    return [os.strerror(n) for n in sorted(set(numbers))]


@dataclass(frozen=True)
class Document:
    """One answer the index can return."""

    id: str
    kind: Kind
    text: str


@dataclass(frozen=True)
class Ranked:
    """One document's score for a question, and how much of the question it covers."""

    doc: Document
    score: float
    coverage: float
    """Share (0-1) of the question's IDF weight found in this document."""
    matched: frozenset[str]
    """The question's terms this document contains."""


def documents(kb: KnowledgeBase) -> list[Document]:
    """Every answer of the knowledge base as text: FAQs first, then error entries, each by id."""
    docs = [Document(f.id, "faq", "\n".join([f.question, *f.phrasings])) for f in kb.faqs.values()]
    for e in kb.errors.values():
        messages = [_PRINTF.sub(" ", m.format) for m in e.messages] + list(e.match.anchors)
        errnos = [*e.match.errno, *(int(m.group(1)) for a in e.match.anchors if (m := _ERRNO_ANCHOR.match(a)))]
        errnos += [int(x.facts["errno"]) for x in e.examples if x.facts.get("errno", "").isdigit()]
        messages += _errno_texts(errnos)
        docs.append(Document(e.id, "error", "\n".join([e.title, *messages])))
    return docs


_F32 = struct.Struct("f")


def _f32(x: float) -> float:
    """``x`` rounded to float32, as numpy stores it: a float32 sum is the double sum so rounded."""
    value: float = _F32.unpack(_F32.pack(x))[0]
    return value


class Bm25Index:
    """The BM25 index of ``documents(kb)`` with its analyzer."""

    def __init__(self, kb: KnowledgeBase) -> None:
        import bm25s  # numpy-based; imported only when an index is built

        self.docs = documents(kb)
        self.analyzer = Analyzer(kb.vocabulary)
        corpus = [self.analyzer.terms(d.text) for d in self.docs]
        self.analyzer.learn(w for d in self.docs for w in self.analyzer.words(d.text))
        self._doc_terms = [frozenset(t) for t in corpus]
        n = len(corpus)
        df: dict[str, int] = {}
        for terms in self._doc_terms:
            for t in terms:
                df[t] = df.get(t, 0) + 1
        # Lucene's IDF, the one bm25s scores with; a word no entry uses weighs like the rarest.
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._idf_unknown = UNKNOWN_WORD_WEIGHT * math.log(1 + (n + 0.5) / 0.5)
        bm25: Any = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
        bm25.index(corpus, show_progress=False)
        data, indices, indptr = (bm25.scores[k].tolist() for k in ("data", "indices", "indptr"))
        self._postings: dict[str, tuple[tuple[int, float], ...]] = {
            term: tuple(zip(indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]], strict=True))
            for term, i in bm25.vocab_dict.items()
            if i + 1 < len(indptr)  # the empty token bm25s adds has no postings
        }
        """Term -> (document number, its float32 BM25 weight there), as bm25s computed them."""

    def scores(self, terms: Sequence[str]) -> list[float]:
        """Every document's BM25 score for ``terms`` (known terms, each once): bm25s's
        ``get_scores``, its float32 additions in the same order."""
        scores = [0.0] * len(self.docs)
        for term in terms:
            for doc, weight in self._postings.get(term, ()):
                scores[doc] = _f32(scores[doc] + weight)
        return scores

    def weight(self, term: str) -> float:
        """How much a query term says: its IDF, the highest for a word no entry uses."""
        return self._idf.get(term, self._idf_unknown)

    def share(self, part: Iterable[str], whole: Iterable[str]) -> float:
        """The IDF weight of ``part`` as a share (0-1) of the weight of ``whole`` (unique terms)."""
        total = sum(self.weight(t) for t in set(whole))
        return sum(self.weight(t) for t in set(part)) / total if total else 0.0

    def rank(self, question: str) -> tuple[list[str], list[Ranked]]:
        """(the question's terms, every document with a score above zero, best first)."""
        terms = self.analyzer.query_terms(question)
        known = list(dict.fromkeys(t for t in terms if t in self._idf))  # each term once
        if not known:
            return terms, []
        scores = self.scores(known)
        unique = frozenset(terms)
        out = []
        for doc, score, doc_terms in zip(self.docs, scores, self._doc_terms, strict=True):
            if score > 0:
                matched = frozenset(unique & doc_terms)
                out.append(Ranked(doc, float(score), self.share(matched, unique), matched))
        out.sort(key=lambda r: (-r.score, r.doc.kind, r.doc.id))
        return terms, out
