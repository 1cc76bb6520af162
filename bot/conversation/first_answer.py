"""The first answer to a paste: the decision on one screen, everything else in the report.

A junior on call reads the top of a message and acts. So the answer to a paste says, in this
order and within ``FIRST_ANSWER_CHARS``: what happened (one sentence), what users saw, the
decision (the change with file:line, or "nothing to change in nginx: ..."), the one piece of
evidence still needed with its command, and then the buttons. The matched lines, meanings,
findings, capacity and commands go to the attached report and the Slack "Details".

Sections about capacity (the capacity table, the sizing arithmetic, the alert rule, the load
test) appear only when a matched error is about capacity (its KB entry feeds the sizing):
a 413 or a timeout gets none of them (``focused``).
"""

from __future__ import annotations

from dataclasses import replace

from bot.conversation.guide import nginx_changes, required_kinds
from bot.conversation.model import Attachment, Button, ConversationState, Reply
from bot.conversation.texts import (
    DIFF_FILE,
    REPORT_FILE,
    change_line,
    diagnosis_changes,
    evidence_list,
    first_sentences,
    fit,
)
from bot.diagnosis.model import Diagnosis, Need
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.texts import say
from bot.render.markdown import render_markdown

FIRST_ANSWER_CHARS = 1500
"""At most this many characters in the first answer (about one screen in Slack or a terminal)."""

MAX_CHANGES_SHOWN = 3


def concerns_capacity(kb: KnowledgeBase, d: Diagnosis) -> bool:
    """Whether a matched error is about capacity: its KB entry feeds the sizing arithmetic."""
    return any(kb.errors[m.kb_id].sizing for m in d.matches if m.kb_id in kb.errors)


def focused(kb: KnowledgeBase, d: Diagnosis) -> Diagnosis:
    """The diagnosis with only the sections that concern the matched errors (the report, Slack)."""
    if not d.matches or concerns_capacity(kb, d):
        return d
    return replace(d, capacity={}, sizing_explain=[], alert_rule="", reproduce="")


def needed_now(kb: KnowledgeBase, d: Diagnosis) -> Need | None:
    """The one piece of evidence still needed: the first decisive kind the guide waits for."""
    wanted = required_kinds(kb, d)
    return next((n for n in d.needs if n.evidence in wanted), None)


def _what_happened(d: Diagnosis) -> list[str]:
    top = d.matches[0]
    out = [
        say(
            "answer.happened",
            title=top.title,
            count=top.count,
            severity=top.severity,
            first_seen=top.first_seen,
            last_seen=top.last_seen,
            others=len(d.matches) - 1,
        )
    ]
    return out


def _users_saw(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    entry = kb.errors.get(d.matches[0].kb_id)
    return [say("answer.users_saw", saw=entry.users_saw)] if entry is not None and entry.users_saw else []


def _decision(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    recs = d.recommendations
    if recs:
        out = [say("answer.change_heading" if nginx_changes(d) else "answer.change_elsewhere_heading")]
        out += [f"- {change_line(r)}" for r in recs[:MAX_CHANGES_SHOWN]]
        if len(recs) > MAX_CHANGES_SHOWN:
            out.append(say("answer.more_changes", more=len(recs) - MAX_CHANGES_SHOWN))
        if any(r.file is None for r in recs) and "nginx-T" not in d.evidence:
            out += ["", say("answer.lines_after_config")]  # its own paragraph, not part of the list
        return out
    entry = kb.errors.get(d.matches[0].kb_id)
    if entry is not None and entry.recipes and "nginx-T" not in d.evidence:
        return [say("answer.change_after_config")]
    return [say("answer.nothing_in_nginx", fix=first_sentences(d.matches[0].fix, 320))]


def _next(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    need = needed_now(kb, d)
    if need is not None:
        kind = kb.evidence.get(need.evidence)
        label = kind.title if kind is not None else need.evidence  # words for people, not the kind's id
        return [say("answer.needed", evidence=label, command=need.command, why=first_sentences(need.why, 160))]
    return [say("answer.walk")]


def first_answer(kb: KnowledgeBase, d: Diagnosis, end: str = "") -> str:
    """The decision-first answer to a paste with matched errors, at most ``FIRST_ANSWER_CHARS``
    long with ``end`` (what was masked, what changed). Optional parts leave first: what users
    saw, then the shown changes beyond the first; nothing is cut inside a sentence."""
    head = _what_happened(d)
    saw = _users_saw(kb, d)
    decision = _decision(kb, d)
    nxt = _next(kb, d)
    problems = [say("answer.problems_heading"), *(f"- {first_sentences(p, 700)}" for p in d.problems[:2])]
    problems = problems if d.problems else []
    report = [say("answer.report_note")]
    for parts in (
        (head, saw, decision, problems, nxt, report),
        (head, decision, problems, nxt, report),
        (head, decision[:2], problems[:2], nxt),
    ):
        text = "\n\n".join("\n".join(p) for p in parts if p) + end
        if len(text) <= FIRST_ANSWER_CHARS:
            return text
    return "\n\n".join("\n".join(p) for p in (head, decision[:2], problems[:2], nxt)) + end


def _needs_part(kb: KnowledgeBase, d: Diagnosis) -> list[str]:
    """What evidence would help when nothing matched yet, numbered with its command."""
    out = [say("conversation.helpful_needs")] if d.needs else []
    out += [
        say("conversation.need_line", number=i, evidence=n.evidence, command=n.command, why=n.why)
        for i, n in enumerate(d.needs, 1)
    ]
    return out


def _no_match_text(kb: KnowledgeBase, d: Diagnosis) -> str:
    if d.lines:
        out = [say("conversation.no_known_error", lines=d.lines, notes=d.notes)]
    else:
        out = [say("conversation.only_evidence", evidence=evidence_list(d.evidence, kb))]
    out += _needs_part(kb, d)
    if d.problems:
        out.append(say("conversation.problems_heading"))
        out += [f"- {p}" for p in d.problems[:3]]
    return "\n".join(out)


def _buttons(matched: bool) -> tuple[Button, ...]:
    walk = (Button("guide_start", say("conversation.button_walk"), "1", "primary"),) if matched else ()
    return (
        *walk,
        Button("feedback_helpful", say("conversation.button_helpful"), "helpful"),
        Button("feedback_not_helpful", say("conversation.button_not_helpful"), "not_helpful"),
        Button("feedback_human", say("conversation.button_human"), "human"),
    )


def diagnosis_replies(
    kb: KnowledgeBase, state: ConversationState, d: Diagnosis, before: Diagnosis | None, note: str
) -> list[Reply]:
    """The answer to a paste: the first answer, or (once the front door said where the first
    answer is, ``state.answer_ref``) that answer updated in place plus a short note of what
    changed. The full report is attached once per thread; the diff whenever it changes."""
    d = focused(kb, d)
    if state.config_stale and d.diff:
        # A diff from the `nginx -T` taken before the applied change would patch the old lines.
        d = replace(d, diff="", problems=[*d.problems, say("answer.fresh_config_needed")])
    changes = diagnosis_changes(before, d, kb)
    in_place = before is not None and state.answer_ref is not None
    end = f"\n\n{note}" if note else ""
    if changes and not in_place:
        end = "\n".join(["", say("conversation.changes_heading"), *(f"- {c}" for c in changes)]) + end
    body = first_answer(kb, d, end) if d.matches else _no_match_text(kb, d) + end
    attachments: list[Attachment] = []
    if d.diff and (before is None or before.diff != d.diff):
        attachments.append(Attachment(DIFF_FILE, say("conversation.diff_title"), d.diff, "diff"))
    if d.matches and not state.report_sent:
        attachments.append(Attachment(REPORT_FILE, say("conversation.report_title"), render_markdown(d), "markdown"))
        state.report_sent = True
    text, files = fit(body, attachments)
    main = Reply(
        "diagnosis",
        text,
        diagnosis=d,
        buttons=_buttons(bool(d.matches)),
        attachments=files,
        command=need.command if (need := needed_now(kb, d)) is not None and d.matches else None,
        replaces=state.answer_ref if in_place else None,
    )
    if not in_place:
        return [main]
    lines = (
        [say("answer.updated_heading"), *(f"- {c}" for c in changes)] if changes else [say("answer.updated_nothing")]
    )
    fresh = [p for p in d.problems if before is None or p not in before.problems]
    if fresh:  # what this paste could not give (a partial `nginx -T`): said here, not only above
        lines += [say("answer.problems_heading"), *(f"- {first_sentences(p, 700)}" for p in fresh[:2])]
    if d.matches:
        lines.append(_next(kb, d)[0])
    return [main, Reply("update", "\n".join(lines) + end, diagnosis=None)]
