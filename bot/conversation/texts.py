"""The conversation's formatting: plain data in, Markdown out, in the words of
``kb/texts/conversation.yaml``.

Kept apart from the engine so the state machine reads as decisions. Every text is complete
on its own (Slack notification text, terminal output); long material goes into
attachments, never cut off (``fit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.conversation.model import Attachment, Reply
from bot.diagnosis.model import Diagnosis, MatchSummary, Recommendation
from bot.diagnosis.plan import DIFF_FILE as DIFF_FILE  # re-exported: the name the conversation attaches
from bot.evidence.redaction import Masked
from bot.evidence.redaction.summary import summary
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

TEXT_LIMIT = 3000
"""Slack's section text limit; ``Reply.text`` stays under it so no renderer has to cut."""

REPLY_FILE = "nginx-triage-reply.md"
REPORT_FILE = "nginx-triage-diagnosis.md"
ALERT_FILE = "nginx-triage-alert.yaml"

TAIL_LINES = 500

# A sentence ends at . ! or ? before white space, but not after an abbreviation ("e.g.").
_SENTENCE_END = lazy_compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<=[.!?])\s+")
# A line that starts a list item or a new paragraph of its own (the rest are soft-wrapped).
_ITEM = lazy_compile(r"^(?:[0-9]{1,3}[.)]|[-*•])\s+")


def human_size(n: int) -> str:
    """Bytes in the unit people read (``1.2 MB``)."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.0f} KB"
    return f"{n} bytes"


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items, each on one line: soft-wrapped lines are joined, items kept apart."""
    blocks: list[str] = []
    fresh = True
    for raw in text.strip().splitlines():
        line = " ".join(raw.split())
        if not line:
            fresh = True
            continue
        if fresh or _ITEM.match(line) or not blocks:
            blocks.append(line)
        else:
            blocks[-1] += " " + line
        fresh = False
    return blocks


def first_sentences(text: str, limit: int = 400) -> str:
    """Whole sentences from the start, up to about ``limit`` characters, never cut mid-sentence.

    List items stay on their own lines with their number ("1. Find the slow requests. 2. ..."
    is two items, not the sentences "1." and "2."), so a cut falls after a whole sentence or
    item, never on a bare "2.". The first sentence is kept whole even when it alone is longer
    than ``limit``: the reply's own size is ``fit``'s job, which moves long text to a file.
    """
    out: list[str] = []
    used = 0
    for block in _blocks(text):
        m = _ITEM.match(block)
        marker, body = (block[: m.end()], block[m.end() :]) if m else ("", block)
        kept = ""
        for sentence in _SENTENCE_END.split(body):
            if (out or kept) and used + len(marker) + len(kept) + len(sentence) + 1 > limit:
                break
            kept = f"{kept} {sentence}".strip()
        if not kept:
            break
        out.append(marker + kept)
        used += len(marker) + len(kept) + 1
        if kept != body.strip():
            break
    return "\n".join(out)


def where(rec: Recommendation) -> str:
    """``file:line``, ``file (new line)`` or the setting's context."""
    if rec.file and rec.line:
        return say("conversation.where_line", file=rec.file, line=rec.line)
    if rec.context == "main":
        block = say("conversation.where_main")
    else:
        block = say("conversation.where_block", context=rec.context)
    if rec.file:
        return say("conversation.where_new_line", file=rec.file, block=block)
    if rec.context in ("location", "server"):  # no nginx -T yet: which one is not known
        return say("conversation.where_handling", context=rec.context)
    return block if rec.context in ("main", "events", "http", "stream") else rec.context


def change_line(rec: Recommendation) -> str:
    """One directive change, in one line."""
    return say(
        "conversation.change_line",
        directive=rec.directive,
        current=rec.current,
        recommended=rec.recommended,
        where=where(rec),
    )


def match_line(m: MatchSummary) -> str:
    """One matched group, in plain words."""
    return say(
        "conversation.match_line",
        title=m.title,
        count=m.count,
        severity=m.severity,
        first_seen=m.first_seen,
        last_seen=m.last_seen,
    )


def masked_note(masked: Sequence[Masked]) -> str:
    """Tell the user which secrets were masked (they should know, and maybe rotate them)."""
    return say("conversation.masked", summary=summary(masked)) if masked else ""


def with_note(reply: Reply, note: str) -> Reply:
    """``reply`` with ``note`` at its end (the whole text to a file when it no longer fits)."""
    if not note:
        return reply
    body, files = fit(reply.text, reply.attachments, f"\n\n{note}")
    return replace(reply, text=body, attachments=files)


def fit(text: str, attachments: Iterable[Attachment] = (), end: str = "") -> tuple[str, tuple[Attachment, ...]]:
    """Keep ``text`` under ``TEXT_LIMIT``; the whole text goes into an attachment when it does not fit.
    ``end`` (what was masked) is always shown, after the text, however much of the text is cut."""
    kept = tuple(attachments)
    if len(text) + len(end) <= TEXT_LIMIT:
        return text + end, kept
    note = say("conversation.full_reply_note", file=REPLY_FILE)
    budget = TEXT_LIMIT - len(note) - len(end)
    head = text[: _cut_point(text, budget)]
    full = Attachment(REPLY_FILE, say("conversation.full_reply_title"), text + end, "markdown")
    return head.rstrip() + note + end, (full, *kept)


_LINE_END = lazy_compile(r"[.!?:)`*][ \t\r]*+\n|\n(?=[ \t]*+(?:[0-9]{1,3}[.)]|[-*•])\s)")


def _cut_point(text: str, budget: int) -> int:
    """Where to cut ``text`` at most ``budget`` long: a paragraph break, else the end of a sentence or
    list item at a line end (a soft-wrapped line may stop mid-sentence), else a sentence end."""
    head = text[:budget]
    cut = head.rfind("\n\n")
    if cut >= budget // 3:
        return cut
    ends = [m.start() + 1 for m in _LINE_END.finditer(head)]
    if ends and ends[-1] >= budget // 3:
        return ends[-1]
    sentence = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    return sentence + 1 if sentence > 0 else budget


def help_text() -> str:
    """What the bot reads and does, for ``help`` and a first hello."""
    return say("conversation.help", tail=TAIL_LINES)


def nothing_recognised(sample: str) -> str:
    """The error for text that is neither evidence nor a question."""
    return say("conversation.nothing_recognised", shown=" ".join(sample.split())[:80])


def too_big(size: int, cap: int, what: str) -> str:
    """The error for a paste or thread over its cap; nothing was stored."""
    values = {"size": size, "cap": cap, "human": human_size(size), "cap_human": human_size(cap), "what": what}
    key = "conversation.too_big_thread" if what == "thread" else "conversation.too_big_paste"
    return say(key, **values) + say("conversation.too_big_hint", tail=TAIL_LINES)


def evidence_list(kinds: Iterable[str], kb: KnowledgeBase) -> str:
    """Evidence kinds in words: each kind's ``label`` in kb/evidence.yaml."""
    return ", ".join(kb.evidence[k].label if k in kb.evidence else k for k in kinds)


def diagnosis_changes(before: Diagnosis | None, after: Diagnosis, kb: KnowledgeBase) -> list[str]:
    """What the new paste changed, in plain words (empty on the first paste)."""
    if before is None:
        return []
    out: list[str] = []
    new_kinds = [k for k in after.evidence if k not in before.evidence]
    if new_kinds:
        out.append(say("conversation.change_more_evidence", evidence=evidence_list(new_kinds, kb)))
    before_recs = {r.directive: r for r in before.recommendations}
    for rec in after.recommendations:
        old = before_recs.get(rec.directive)
        if old is None:
            out.append(say("conversation.change_new", change=change_line(rec)))
        elif rec.line and not old.line:
            out.append(say("conversation.change_line_known", change=change_line(rec)))
        elif old.recommended != rec.recommended:
            values = {"directive": rec.directive, "recommended": rec.recommended, "was": old.recommended}
            out.append(say("conversation.change_resized", **values))
    for directive in before_recs.keys() - {r.directive for r in after.recommendations}:
        out.append(say("conversation.change_dropped", directive=directive))
    if after.diff and not before.diff:
        out.append(say("conversation.change_diff", file=DIFF_FILE))
    before_findings = {f.id for f in before.findings}
    matched = {m.kb_id for m in after.matches}
    for finding in after.findings:
        if finding.id not in before_findings and finding.id not in matched:
            out.append(say("conversation.change_finding", id=finding.id))
    before_matches = {m.kb_id: m.count for m in before.matches}
    for m in after.matches:
        if m.kb_id not in before_matches:
            out.append(say("conversation.change_error", title=m.title))
    resolved = [n.evidence for n in before.needs if n.evidence not in {x.evidence for x in after.needs}]
    if resolved and not new_kinds:
        out.append(say("conversation.change_resolved", evidence=evidence_list(resolved, kb)))
    return out
