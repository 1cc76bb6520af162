"""Answer a free-text question from the knowledge base: a FAQ, an error entry, or a polite no.

Questions arrive as typed in Slack: lower case, typos, half sentences, pasted log fragments.
``bot.faq.retrieval`` ranks every FAQ and error entry with BM25 over synonyms and stems;
this module decides what the ranking is worth:

- **recognised**: the question quotes an NGINX message the KB's own line matcher knows
  ("what does upstream prematurely closed mean"): that error entry answers, unless a FAQ
  covers more of the question (then the FAQ does: "upstream timed out 504");
- **confident**: the first place covers most of the question and clearly leads the second
  (``CONFIDENT_*``): its answer is given outright;
- **declined**: even the first place explains little of the question (``OFF_TOPIC_COVERAGE``):
  the question is about something else and gets one line saying so;
- otherwise **unsure**: the closest questions are offered.

The JSON shape of ``nginx-triage ask`` is ``{id, score, confident, answer, alternatives}``
(DESIGN.md) plus ``kind`` (``faq`` or ``error``: which sort of entry answered) and
``declined``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bot.evidence.errorlog import parse_line
from bot.faq.retrieval import Bm25Index, Ranked
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile
from bot.matching.matcher import Matcher

CONFIDENT_COVERAGE = 0.5
"""Share of the question's weight (IDF) the first place must contain: half of what was asked,
so one shared word ("connections") never answers a question about something else."""

CONFIDENT_MARGIN = 0.1
"""How far (relative score) that first place must lead the second: a clear first place. Ties
between two entries that both fit go to the user as a choice instead."""

CLEAR_LEAD_COVERAGE = 0.4
CLEAR_LEAD_MARGIN = 0.2
"""The other way to be sure: a first place a fifth ahead of the second may cover less of the
question (a junior's question carries words no entry uses: "our site", "since the deploy"),
but never less than ``OFF_TOPIC_COVERAGE``: what would be declined is never answered."""

SPLIT_QUESTION = 0.33
"""Not sure either when the runner-up holds a third of the question that the first place
lacks: the question straddles two entries ("redirect http to https": the plain-HTTP-port
error has the protocols, the rewrite-cycle entry the redirect)."""

CONFIDENT_SCORE = 2.5
"""Lowest BM25 score answered outright: one common word ("time") is not a question."""

OFF_TOPIC_COVERAGE = 0.4
"""Below this share of the question in its best entry, the question is about something else
(apache, kubernetes pods, the weather) and is declined in one line."""

MEANING_BOOST = 1.5
"""A question that asks what something means ("what does X mean", the vocabulary's
``asks_meaning`` words) is about a message: error entries' scores count this much more, so
the entry that explains the message beats a FAQ that merely shares its words."""

WHOLE_QUESTION = 0.95
WHOLE_QUESTION_LEAD = 0.1
"""A first place that holds the whole question while the runner-up misses a tenth of it
answers even on a near tie in score: the runner-up is about less than what was asked."""

MEANING_COVERAGE = 0.3
"""A question asking what a message means, with an error entry clearly first
(``CLEAR_LEAD_MARGIN``), is answered from this share on: its other words are the message's
own, which the entry holds as formats and anchors rather than as prose."""

ALTERNATIVES = 3

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
_WORD = lazy_compile(r"[a-z0-9_]+")


def normalise(text: str) -> str:
    """Lower-case words without punctuation and filler words (the fuzzy fallback compares these)."""
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
    """The JSON shape of ``nginx-triage ask`` (DESIGN.md), plus which kind of entry answered."""

    id: str | None
    score: float
    confident: bool
    question: str | None
    answer: str | None
    alternatives: list[Alternative]
    kind: Literal["faq", "error"] | None = None
    """``faq`` (kb/faq) or ``error`` (an entry of kb/errors answering "what does X mean"); None when unsure."""
    declined: bool = False
    """True when the question is about something else; ``answer`` is then None and the caller declines."""


def _clear_first_place(terms: list[str], ranked: list[Ranked], index: Bm25Index, meaning: bool = False) -> bool:
    """The confidence rule: enough of the question, clearly ahead, and not half another entry's."""
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    margin = (best.score - runner.score) / best.score if runner is not None else 1.0
    if best.score < CONFIDENT_SCORE:
        return False
    if runner is not None and index.share(runner.matched - best.matched, terms) >= SPLIT_QUESTION:
        return False
    if (
        runner is not None
        and best.coverage >= WHOLE_QUESTION
        and runner.coverage <= best.coverage - WHOLE_QUESTION_LEAD
    ):
        return margin > 0
    if meaning and best.doc.kind == "error" and best.coverage >= MEANING_COVERAGE and margin >= CLEAR_LEAD_MARGIN:
        return True
    return (best.coverage >= CONFIDENT_COVERAGE and margin >= CONFIDENT_MARGIN) or (
        best.coverage >= CLEAR_LEAD_COVERAGE and margin >= CLEAR_LEAD_MARGIN
    )


class FaqIndex:
    """Question answering over the FAQ and the error entries; the index is built on the first question."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher | None = None) -> None:
        self.kb = kb
        self._index: Bm25Index | None = None
        self._matcher = matcher

    @property
    def matcher(self) -> Matcher:
        """The error-line matcher that recognises a quoted NGINX message (the caller's, or built once)."""
        if self._matcher is None:
            self._matcher = Matcher(self.kb, catalog=None)
        return self._matcher

    @property
    def index(self) -> Bm25Index:
        """The BM25 index, on first use: from the user's cache when the KB came from it, else
        built (bm25s imported then)."""
        if self._index is None:
            from bot.faq.index_cache import cached_index

            self._index = cached_index(self.kb)
        return self._index

    def question_of(self, doc_id: str, kind: str) -> str:
        """The question an entry answers: the FAQ's own, or "what does <error title> mean"."""
        if kind == "faq":
            return self.kb.faqs[doc_id].question
        return say("faq.error_question", title=self.kb.errors[doc_id].title)

    def answer_of(self, doc_id: str, kind: str) -> str:
        """The entry's answer: the FAQ answer, or the error entry's meaning and causes."""
        if kind == "faq":
            return self.kb.faqs[doc_id].answer.strip()
        entry = self.kb.errors[doc_id]
        return say("faq.error_answer", meaning=entry.meaning, causes=entry.causes).strip()

    def asks_meaning(self, question: str) -> bool:
        """Whether the question asks what a message means (words listed in kb/faq/synonyms.yaml)."""
        vocabulary = self.kb.vocabulary
        words = set(_WORD.findall(question.lower()))
        return vocabulary is not None and bool(words & set(vocabulary.asks_meaning))

    def ask(self, question: str) -> Answer:
        """The confident answer; else the closest questions, marked ``declined`` when off topic."""
        terms, ranked = self.index.rank(question)
        meaning = self.asks_meaning(question)
        if ranked and meaning:
            ranked = sorted(
                (replace(r, score=r.score * MEANING_BOOST) if r.doc.kind == "error" else r for r in ranked),
                key=lambda r: (-r.score, r.doc.kind, r.doc.id),
            )
        if not ranked:
            return Answer(None, 0.0, False, None, None, self._closest_by_wording(question), declined=True)
        recognised = self._recognised(terms, question, ranked)
        best = recognised or ranked[0]
        confident = recognised is not None or _clear_first_place(terms, ranked, self.index, meaning)
        score = round(best.coverage, 3)
        if confident:
            alts = self._alternatives([r for r in ranked if r is not best][:ALTERNATIVES])
            kind = best.doc.kind
            text = self.answer_of(best.doc.id, kind)
            return Answer(best.doc.id, score, True, self.question_of(best.doc.id, kind), text, alts, kind)
        declined = best.coverage < OFF_TOPIC_COVERAGE
        alts = self._alternatives(ranked[:ALTERNATIVES]) or self._closest_by_wording(question)
        return Answer(None, score, False, None, None, alts, declined=declined)

    def _recognised(self, terms: list[str], question: str, ranked: list[Ranked]) -> Ranked | None:
        """The error entry whose message the question quotes; the first-placed FAQ instead when it
        holds a part of the question the message does not (``SPLIT_QUESTION``: "... 504")."""
        # the rules only: a fuzzy guess is never taken here, so it is not worth computing
        match = self.matcher.match_fast(parse_line(question)) if question.strip() else None
        if match is None or match.method != "regex":
            return None
        entry = next((r for r in ranked if r.doc.kind == "error" and r.doc.id == match.kb_id), None)
        if entry is None:
            return None
        top = ranked[0]
        if top.doc.kind == "faq" and self.index.share(top.matched - entry.matched, terms) >= SPLIT_QUESTION:
            return top
        return entry

    def _alternatives(self, ranked: list[Ranked]) -> list[Alternative]:
        return [Alternative(r.doc.id, self.question_of(r.doc.id, r.doc.kind), round(r.coverage, 3)) for r in ranked]

    def _closest_by_wording(self, question: str) -> list[Alternative]:
        """FAQ questions most like the words typed, when no term of the question is in any entry."""
        from rapidfuzz import fuzz  # only for questions no term of the index knows: not at start-up

        query = normalise(question)
        scored = sorted(
            ((fuzz.token_set_ratio(query, normalise(f.question)), f.id) for f in self.kb.faqs.values()),
            key=lambda s: (-s[0], s[1]),
        )
        return [Alternative(fid, self.kb.faqs[fid].question, 0.0) for _s, fid in scored[:ALTERNATIVES]]
