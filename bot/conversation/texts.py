"""The words of the conversation: what the bot says, as Markdown, built from plain data.

Kept apart from the engine so the state machine reads as decisions and this file reads as
copy. Every text is complete on its own (Slack notification text, terminal output); long
material goes into attachments, never cut off (``fit``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.conversation.model import Attachment
from bot.diagnosis.model import Diagnosis, MatchSummary, Recommendation
from bot.knowledge.loader import KnowledgeBase

TEXT_LIMIT = 3000
"""Slack's section text limit; ``Reply.text`` stays under it so no renderer has to cut."""

REPLY_FILE = "nginx-triage-reply.md"
REPORT_FILE = "nginx-triage-diagnosis.md"
DIFF_FILE = "nginx-triage-fix.diff"

TAIL_LINES = 500

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 line``, ``3 lines``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def human_size(n: int) -> str:
    """Bytes in the unit people read (``1.2 MB``)."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.0f} KB"
    return f"{n} bytes"


def first_sentences(text: str, limit: int = 400) -> str:
    """Whole sentences from the start, up to about ``limit`` characters."""
    text = " ".join(text.split())
    out = ""
    for sentence in _SENTENCE_END.split(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out if len(out) <= limit * 2 else out[:limit].rsplit(" ", 1)[0] + " ..."


def where(rec: Recommendation) -> str:
    """``file:line``, ``file (new line)`` or the setting's context."""
    if rec.file and rec.line:
        return f"`{rec.file}:{rec.line}`"
    block = "the main context" if rec.context == "main" else f"`{rec.context} {{}}`"
    if rec.file:
        return f"`{rec.file}` (new line in {block})"
    return block if rec.context in ("main", "events", "http", "stream") else rec.context


def change_line(rec: Recommendation) -> str:
    """One directive change, in one line."""
    now = rec.current if rec.current is not None else "unset"
    return f"`{rec.directive}` {now} -> **{rec.recommended}** at {where(rec)}"


def match_line(m: MatchSummary) -> str:
    """One matched group, in plain words."""
    when = ""
    if m.first_seen:
        when = f", {m.first_seen}" + (f" to {m.last_seen}" if m.last_seen and m.last_seen != m.first_seen else "")
    return f"- **{m.title}**: {plural(m.count, 'line')} ({m.severity}{when})"


def masked_note(masked: int) -> str:
    """Tell the user their secrets were masked (they should know, and maybe rotate them)."""
    if not masked:
        return ""
    return (
        f"I masked {plural(masked, 'secret')} before storing your paste "
        "(passwords, tokens and keys are never kept or echoed)."
    )


def fit(text: str, attachments: Iterable[Attachment] = ()) -> tuple[str, tuple[Attachment, ...]]:
    """Keep ``text`` under ``TEXT_LIMIT``; the whole text goes into an attachment when it does not fit."""
    kept = tuple(attachments)
    if len(text) <= TEXT_LIMIT:
        return text, kept
    note = f"\n\n(The full reply is in the attached file `{REPLY_FILE}`.)"
    budget = TEXT_LIMIT - len(note)
    head = text[:budget]
    cut = head.rfind("\n\n")
    if cut < budget // 3:
        cut = head.rfind("\n")
    head = head[:cut] if cut > 0 else head
    full = Attachment(REPLY_FILE, "The full reply", text, "markdown")
    return head.rstrip() + note, (full, *kept)


HELP = f"""**nginx-triage** reads NGINX errors and tells you what they mean and exactly how to fix them.

**Paste** (or upload as a file) any of these, in this thread:
- error-log lines: `sudo tail -n 200 /var/log/nginx/error.log`
- the configuration nginx runs: `sudo nginx -T 2>&1`
- a worker's limits: `cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits`
- the CPU count: `nproc`; socket use: `ss -s`

Every later paste in the thread adds evidence and I recompute the answer from all of it.
**Ask** a question in plain words, e.g. _why does a proxied request use two connections?_
Press **Walk me through it** under a diagnosis for numbered steps I check with you.
Pastes are capped; for big logs paste the last {TAIL_LINES} lines (`tail -n {TAIL_LINES}`).
Passwords, tokens and keys are masked before anything is stored."""


def nothing_recognised(sample: str) -> str:
    """The error for text that is neither evidence nor a question."""
    shown = " ".join(sample.split())[:80]
    return (
        f"I could not read that as NGINX evidence or a question (it starts `{shown}`).\n\n"
        "Paste lines from nginx's **error.log** (not access.log), e.g. "
        "`sudo tail -n 200 /var/log/nginx/error.log`, the output of `sudo nginx -T 2>&1`, "
        "or ask a question in plain words. Say `help` for everything I read."
    )


def too_big(size: int, cap: int, what: str) -> str:
    """The error for a paste or thread over its cap; nothing was stored."""
    if what == "thread":
        head = (
            f"With that paste this thread would hold {human_size(size)} ({size:,} bytes) of evidence; I keep at "
            f"most {human_size(cap)} ({cap:,} bytes) per thread, so I did not store it (what the thread has "
            "so far is unchanged). Start a new thread with the newest evidence, or paste less here."
        )
    else:
        head = (
            f"That {what} is {human_size(size)} ({size:,} bytes); I read at most {human_size(cap)} "
            f"({cap:,} bytes) at once, so I did not store it (the thread so far is unchanged)."
        )
    return (
        head + f"\n\nPaste or upload the last {TAIL_LINES} lines instead: "
        f"`sudo tail -n {TAIL_LINES} /var/log/nginx/error.log`. For `nginx -T`, the lines that set the "
        "capacity are enough: `sudo nginx -T 2>/dev/null | grep -nE 'worker_|listen|keepalive'`."
    )


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
        out.append(f"I now also have {evidence_list(new_kinds, kb)}.")
    before_recs = {r.directive: r for r in before.recommendations}
    for rec in after.recommendations:
        old = before_recs.get(rec.directive)
        if old is None:
            out.append(f"New change: {change_line(rec)}.")
        elif rec.line and not old.line:
            out.append(f"I can now name the line: {change_line(rec)}.")
        elif old.recommended != rec.recommended:
            out.append(f"`{rec.directive}` is now sized to {rec.recommended} (was {old.recommended}).")
    for directive in before_recs.keys() - {r.directive for r in after.recommendations}:
        out.append(f"`{directive}` no longer needs to change.")
    if after.diff and not before.diff:
        out.append(f"The diff to apply is attached as `{DIFF_FILE}`.")
    before_findings = {f.id for f in before.findings}
    matched = {m.kb_id for m in after.matches}
    for finding in after.findings:
        if finding.id not in before_findings and finding.id not in matched:
            out.append(f"New finding `{finding.id}`.")
    before_matches = {m.kb_id: m.count for m in before.matches}
    for m in after.matches:
        if m.kb_id not in before_matches:
            out.append(f"New error: {m.title}.")
    resolved = [n.evidence for n in before.needs if n.evidence not in {x.evidence for x in after.needs}]
    if resolved and not new_kinds:
        out.append(f"No longer needed: {evidence_list(resolved, kb)}.")
    return out
