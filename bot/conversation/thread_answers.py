"""Questions about the thread's own diagnosis, answered from it before the KB is asked.

"is 2048 enough?" wants the computed demand and ceiling, "which file?" the file:line of the
change, "can I ignore these?" the severity and why; a FAQ answer would be about nginx in
general, not about this incident. Only the shape of the question is matched here (a number
and "enough", "which file", "ignore"); every word said comes from kb/texts/answer.yaml.
"""

from __future__ import annotations

import re

from bot.conversation.texts import change_line, first_sentences
from bot.diagnosis.model import Diagnosis, Recommendation
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

# Gaps bounded to a short question's length, so every pattern stays linear on any text.
_ENOUGH = lazy_compile(r"\b(?P<n>[0-9]{1,9})\b[^?]{0,200}?\b(?:enough|sufficient|too (?:low|small|high|much))\b", re.I)
_ENOUGH_FIRST = lazy_compile(r"\b(?:enough|sufficient)\b[^?]{0,200}?\b(?P<n>[0-9]{1,9})\b", re.I)
_WHICH_FILE = lazy_compile(
    r"\b(?:which|what|where)\b[^?]{0,200}?\b(?:file|line|config file|conf)\b|\bwhere\b[^?]{0,200}?\bchange\b", re.I
)
_IGNORE = lazy_compile(r"\b(?:ignore|ignorable|harmless|safe to leave|worry|serious|critical|matter)\b", re.I)

VERDICTS = {
    "critical": "answer.ignore_verdict_critical",
    "high": "answer.ignore_verdict_high",
    "medium": "answer.ignore_verdict_medium",
    "low": "answer.ignore_verdict_low",
    "info": "answer.ignore_verdict_info",
}
"""Severity -> the words for whether it can wait (keys of kb/texts/answer.yaml)."""

MAX_QUESTION_CHARS = 200
"""Longer text is not a short follow-up about the thread."""


def _slots(n: int, capacity: dict[str, object]) -> tuple[int, int] | None:
    """(connections, proxied requests) in total with ``n`` worker_connections per worker."""
    workers = capacity.get("workers")
    listeners = capacity.get("listeners") or 1
    reserved = capacity.get("reserved_keepalive") or 0
    if not isinstance(workers, int) or not isinstance(listeners, int) or not isinstance(reserved, int):
        return None
    usable = n - listeners - 1
    return workers * max(usable, 0), workers * max((usable - reserved) // 2, 0)


def _sized(d: Diagnosis, question: str) -> Recommendation | None:
    """The numeric recommendation the question is about: the directive it names, else the first."""
    numeric = [r for r in d.recommendations if r.recommended.isdigit()]
    named = [r for r in numeric if r.directive.lower() in question.lower()]
    chosen = named or numeric
    return chosen[0] if chosen else None


def _enough(d: Diagnosis, question: str, about_capacity: bool) -> str | None:
    m = _ENOUGH.search(question) or _ENOUGH_FIRST.search(question)
    if m is None:
        return None
    value = int(m.group("n"))
    rec = _sized(d, question)
    target = d.target_concurrency.get("value")
    if rec is None or not d.capacity:
        # Only a thread about capacity can say; elsewhere the KB answers the question.
        return say("answer.enough_unknown") if about_capacity else None
    needed = int(rec.recommended)
    demand = say("answer.demand", target=target, directive=rec.directive, needed=needed)
    lines: list[str] = []
    slots = _slots(value, d.capacity) if rec.directive == "worker_connections" else None
    now = d.capacity
    after = now.get("after_fix") or {}
    lines.append(
        say(
            "answer.ceiling",
            workers=now.get("workers"),
            worker_connections=now.get("worker_connections"),
            max_connections=now.get("max_connections"),
            after=after.get("max_connections") if after else None,
            directive=rec.directive,
            needed=needed,
        )
    )
    if slots is not None:
        lines.append(say("answer.enough_slots", value=value, connections=slots[0], proxied=slots[1]))
    key = "answer.enough_yes" if value >= needed else "answer.enough_no"
    detail = " ".join(lines)
    return say(key, directive=rec.directive, value=value, demand=demand, detail=detail, change=change_line(rec))


def _which_file(d: Diagnosis) -> str:
    if not d.recommendations:
        fix = first_sentences(d.matches[0].fix, 300) if d.matches else ""
        return say("answer.which_file_none", fix=fix)
    if all(r.file is None for r in d.recommendations):
        return say("answer.which_file_unknown")
    return "\n".join([say("answer.which_file"), *(f"- {change_line(r)}" for r in d.recommendations)])


def _ignore(d: Diagnosis) -> str:
    out = [say("answer.ignore_heading")]
    for m in d.matches[:5]:
        out.append(
            say(
                "answer.ignore_line",
                title=m.title,
                severity=m.severity,
                verdict=say(VERDICTS.get(m.severity, VERDICTS["medium"])),
                meaning=first_sentences(m.meaning, 220),
            )
        )
    return "\n".join(out)


def answer_from_thread(d: Diagnosis | None, question: str, about_capacity: bool = False) -> str | None:
    """The answer from the thread's diagnosis, or None when the question is not about it.
    ``about_capacity``: a matched error is about capacity (then "is N enough?" is ours to answer)."""
    q = question.strip()
    if not q or len(q) > MAX_QUESTION_CHARS:
        return None
    if d is None or not d.matches:
        return None
    enough = _enough(d, q, about_capacity)
    if enough is not None:
        return enough
    if _WHICH_FILE.search(q):
        return _which_file(d)
    if _IGNORE.search(q):
        return _ignore(d)
    return None
