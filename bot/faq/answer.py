"""Answer a free-text question from the FAQ entries, or say which questions come closest.

Questions arrive as typed in Slack: lower case, typos, half sentences. Each FAQ carries
several phrasings; the question is compared with all of them after folding case,
punctuation and filler words. An answer is only "confident" when it scores high and
clearly beats the runner-up; otherwise the closest questions are offered instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.knowledge.loader import KnowledgeBase

CONFIDENT_SCORE = 70.0
"""Best score (0-100) needed before an answer is given outright."""

CONFIDENT_MARGIN = 4.0
"""How far the best FAQ must lead the next different one."""

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "do",
        "does",
        "did",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "and",
        "or",
        "how",
        "what",
        "why",
        "when",
        "which",
        "can",
        "should",
        "would",
        "could",
        "will",
        "there",
        "this",
        "that",
        "these",
        "those",
        "nginx",
        "please",
        "hey",
        "hi",
        "so",
        "just",
        "about",
    ]
)
_WORD = re.compile(r"[a-z0-9_]+")


def normalise(text: str) -> str:
    """Lower-case words without punctuation and filler words."""
    words = _WORD.findall(text.lower().replace("-", "_"))
    kept = [w for w in words if w not in _STOP]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Alternative:
    """A nearby question the user may have meant."""

    id: str
    question: str
    score: float


@dataclass(frozen=True)
class Answer:
    """The JSON shape of ``nginx-triage ask``."""

    id: str | None
    score: float
    confident: bool
    question: str | None
    answer: str | None
    alternatives: list[Alternative]


class FaqIndex:
    """All phrasings of all FAQs, normalised once."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._phrasings: list[tuple[str, str]] = []
        self._words: dict[str, set[str]] = {}
        for faq in kb.faqs.values():
            words = self._words.setdefault(faq.id, set())
            for text in (faq.question, *faq.phrasings):
                norm = normalise(text)
                self._phrasings.append((faq.id, norm))
                words.update(norm.split())
        # Words that many FAQs share ("connections") tell them apart less than rare ones
        # ("double", "systemd"): weight each word by inverse document frequency.
        n = max(1, len(self._words))
        df: dict[str, int] = {}
        for words in self._words.values():
            for w in words:
                df[w] = df.get(w, 0) + 1
        self._idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
        self._idf_unknown = math.log((n + 1) / 0.5)

    def _coverage(self, query_words: list[str], faq_id: str) -> float:
        """Share of the question's (IDF-weighted) words that this FAQ's phrasings use."""
        words = self._words[faq_id]
        total = hit = 0.0
        for w in set(query_words):
            weight = self._idf.get(w, self._idf_unknown)
            total += weight
            if w in words:
                hit += weight
        return hit / total if total else 0.0

    def scores(self, question: str) -> list[tuple[str, float]]:
        """Best score per FAQ id, highest first."""
        query = normalise(question)
        best: dict[str, float] = {}
        if not query:
            return []
        for faq_id, phr in self._phrasings:
            # token_set_ratio rewards shared words regardless of order; the small plain
            # ratio share breaks ties towards the phrasing worded most like the question.
            # (WRatio was dropped: one shared word scored 85 and drowned everything.)
            s = fuzz.token_set_ratio(query, phr) * 0.9 + fuzz.ratio(query, phr) * 0.1
            if s > best.get(faq_id, 0.0):
                best[faq_id] = s
        words = query.split()
        blended = {fid: 0.7 * s + 30.0 * self._coverage(words, fid) for fid, s in best.items()}
        return sorted(blended.items(), key=lambda kv: (-kv[1], kv[0]))

    def ask(self, question: str) -> Answer:
        """The confident answer, or None with the closest questions."""
        ranked = self.scores(question)
        if not ranked:
            return Answer(None, 0.0, False, None, None, [])
        best_id, best = ranked[0]
        runner = ranked[1][1] if len(ranked) > 1 else 0.0
        confident = best >= CONFIDENT_SCORE and best - runner >= CONFIDENT_MARGIN
        alts = [
            Alternative(fid, self.kb.faqs[fid].question, round(score / 100, 3))
            for fid, score in ranked[(1 if confident else 0) : 4]
        ]
        if confident:
            faq = self.kb.faqs[best_id]
            return Answer(best_id, round(best / 100, 3), True, faq.question, faq.answer.strip(), alts)
        return Answer(None, round(best / 100, 3), False, None, None, alts)
