"""The conversation state machine: one thread's state and one user action in, new state and replies out.

Pure on purpose: no Slack, no database, no terminal, no clock beyond the state's own
timestamps. The Slack adapter and ``nginx-triage chat`` both drive it, the store persists
its ``ConversationState`` as JSON, and every decision is testable with plain data.

Every paste is redacted first (``bot.evidence.redaction``: the front doors already did, at
intake, and say what they masked in ``Incoming.masked``; redacting again is a no-op, and for
an upload this process redacted, a lookup: ``redaction.CLEAN_TEXTS``) and only
the redacted text is kept; the first answer to a paste says what was masked. The diagnosis is
recomputed from all pastes of the thread on every turn, so a restarted bot (or another
replica) continues a thread from its stored state alone; what this engine already read of a
thread's pastes is kept between turns (``read_cache.ThreadReads``, bounded), so a turn reads
only its new paste, and gives the answer reading them all again would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.conversation import texts
from bot.conversation.budget import TURN_SECONDS, turn_budget, turn_deadline
from bot.conversation.first_answer import concerns_capacity, diagnosis_replies, focused
from bot.conversation.guide import (
    Verdict,
    build_steps,
    check_output,
    evidence_verdict,
    explain_step,
    guide_step,
    required_kinds,
)
from bot.conversation.model import (
    Attachment,
    Button,
    ConversationState,
    GuideStep,
    Incoming,
    Reply,
)
from bot.conversation.read_cache import ThreadReads, paste_keys
from bot.conversation.thread_answers import answer_from_thread
from bot.conversation.typed_actions import typed_action
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Diagnosis
from bot.evidence import Section, is_evidence, sniff
from bot.evidence.errorlog import parsing_once
from bot.evidence.numbers import is_number
from bot.evidence.redaction import CLEAN_TEXTS, Masked, redact_intake
from bot.faq.answer import Answer, FaqIndex
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.texts import say
from bot.matching.matcher import Matcher
from bot.render.markdown import cross_findings

HELP_WORDS = frozenset(
    {
        "",
        "help",
        "hi",
        "hello",
        "hey",
        "start",
        "?",
        "usage",
        "what can you do",
        "what can you do?",
        "hi there",
        "hello there",
    }
)
THANKS_WORDS = frozenset({"thanks", "thank you", "thx", "ty", "cheers", "thanks!", "thank you!"})

FAQ_MIN_SCORE = 0.45
"""Below this best FAQ score, text that does not read as a question is "nothing recognisable"."""

QUESTION_MAX_CHARS = 1_000
"""Longer text with no evidence in it is a paste gone wrong, not a question."""

MAX_MATCH_LINES = 8
MAX_FINDINGS = 4


@dataclass(frozen=True)
class _Part:
    """One redacted paste (the message text or one file)."""

    name: str
    text: str
    evidence: bool
    questions: tuple[str, ...]
    config_dump: bool = False
    """The sniffer found an ``nginx -T`` section (kept so a turn sniffs a big paste once less)."""
    sections: tuple[Section, ...] | None = None
    """What the sniffer cut ``text`` into, when that is what reading it would find: the
    diagnosis reads these sections instead of sniffing the paste a second time."""


def _buttons_for_diagnosis() -> tuple[Button, ...]:
    return (
        Button("guide_start", say("conversation.button_walk"), "1", "primary"),
        Button("feedback_helpful", say("conversation.button_helpful"), "helpful"),
        Button("feedback_not_helpful", say("conversation.button_not_helpful"), "not_helpful"),
        Button("feedback_human", say("conversation.button_human"), "human"),
    )


def _step_buttons(step: GuideStep) -> tuple[Button, ...]:
    value = str(step.number)
    return (
        Button("guide_done", say("conversation.button_done"), value, "primary"),
        Button("guide_paste", say("conversation.button_paste"), value),
        Button("guide_explain", say("conversation.button_explain"), value),
    )


def _diff_attachment(d: Diagnosis) -> Attachment:
    return Attachment(texts.DIFF_FILE, say("conversation.diff_title"), d.diff, "diff")


def _copy(state: ConversationState) -> ConversationState:
    """A copy the engine may change; the caller's object (and its lists) stay as they were."""
    return replace(
        state, pastes=list(state.pastes), guide_done=list(state.guide_done), feedback=[dict(f) for f in state.feedback]
    )


class ConversationEngine:
    """Turns one user action in a thread into the thread's new state and the bot's replies."""

    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        *,
        max_paste_bytes: int = 1_000_000,
        max_thread_bytes: int = 4_000_000,
        turn_seconds: float | None = TURN_SECONDS,
    ) -> None:
        self.kb = kb
        self.matcher = matcher
        self.faq = FaqIndex(kb, matcher)
        self.max_paste_bytes = max_paste_bytes
        self.max_thread_bytes = max_thread_bytes
        self.turn_seconds = turn_seconds
        self.reads = ThreadReads()

    # -- entry ----------------------------------------------------------------------------

    def handle(self, state: ConversationState | None, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        """The new state of the thread and the replies to send, in order."""
        current = _copy(state) if state is not None else ConversationState(thread=incoming.thread)
        unchanged = current.to_json()
        with turn_budget(self.turn_seconds), parsing_once():
            if incoming.action:
                new, replies = self._action(current, incoming)
            else:
                new, replies = self._message(current, incoming)
        if new.to_json() != unchanged:
            new.updated_at = max(time.time(), new.updated_at)
        return new, replies

    # -- diagnosis ------------------------------------------------------------------------

    def diagnose(
        self, pastes: list[str], state: ConversationState, sniffed: Mapping[int, Sequence[Section]] | None = None
    ) -> Diagnosis:
        """The diagnosis from every paste of the thread (already redacted).

        ``sniffed``: the sections of some pastes (by index), already cut this turn. What earlier
        turns read is taken from ``self.reads``, so each paste is read once while its thread is
        being talked in; the answer is the same as reading them all again.
        """
        keys = paste_keys(pastes)
        how = (state.target_concurrency, state.environment)
        if keys:
            known = self.reads.diagnosis(keys[-1], how)
            if known is not None:
                return known
        start, ev = self.reads.evidence(keys)
        if ev is None:
            ev = Collected(deadline=turn_deadline())
        else:
            ev.deadline = turn_deadline()
        for i, text in enumerate(pastes[start:], start + 1):
            if ev.out_of_time(f"paste {i}"):
                break
            ev.add_text(text, self.matcher, f"paste {i}", (sniffed or {}).get(i - 1))
        complete = bool(keys) and not ev.stopped
        if complete and start < len(keys):
            self.reads.keep(keys[-1], ev, sum(len(text) for text in pastes))
        d = diagnose_evidence(ev, self.kb, state.target_concurrency, state.environment)
        if complete:
            self.reads.keep_diagnosis(keys[-1], how, d)
        return d

    def structure_sizes(self) -> dict[str, tuple[int, int]]:
        """Items held and the bound of each long-lived cache a turn uses, for the bot's metrics."""
        return {
            **self.matcher.structure_sizes(),
            "thread_reads": self.reads.size(),
            "thread_reads_chars": self.reads.chars_size(),
            "redaction_clean": CLEAN_TEXTS.size(),
        }

    # -- messages -------------------------------------------------------------------------

    def _message(self, state: ConversationState, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        raw = [("message", incoming.text, incoming.masked)] if incoming.text.strip() else []
        raw += [(f.name, f.text, f.masked) for f in incoming.files if f.text.strip()]
        if not raw or (not incoming.files and incoming.text.strip().lower().rstrip("!.") in HELP_WORDS):
            return state, [Reply("help", texts.help_text())]
        typed = typed_action(incoming, state)
        if typed is not None:
            return self._action(state, typed)
        if not incoming.files and incoming.text.strip().lower() in THANKS_WORDS:
            return state, [Reply("feedback_thanks", say("conversation.thanks"))]
        size = sum(len(text.encode("utf-8", "replace")) for _, text, _ in raw)
        if size > self.max_paste_bytes:
            what = "upload" if incoming.files else "paste"
            return state, [Reply("error", texts.too_big(size, self.max_paste_bytes, what))]
        stored = sum(len(p.encode("utf-8", "replace")) for p in state.pastes)
        if stored + size > self.max_thread_bytes:
            return state, [Reply("error", texts.too_big(stored + size, self.max_thread_bytes, "thread"))]
        masked: list[Masked] = []
        parts: list[_Part] = []
        for name, text, before in raw:
            clean = redact_intake(text)
            masked += [Masked.from_key(key) for key in before]
            masked += clean.masked
            parts.append(self._classify(name, clean.text))
        evidence = [p for p in parts if p.evidence]
        if not evidence:
            return self._question(state, parts, tuple(masked))
        if state.guide_step is not None:
            return self._guide_paste(state, evidence, tuple(masked))
        return self._evidence(state, evidence, tuple(masked))

    def _classify(self, name: str, text: str) -> _Part:
        """Evidence or not; the matcher gets a say on text the sniffer could not place (mangled lines)."""
        sections = sniff(text)
        questions = tuple(s.text.strip() for s in sections if s.kind == "question")
        if any(is_evidence(s.kind) for s in sections):
            # Reading normalises line ends first; without a CR the sections are what it would cut.
            kept = tuple(sections) if "\r" not in text else None
            return _Part(name, text, True, questions, any(s.kind == "nginx-T" for s in sections), kept)
        unknown = [s.text for s in sections if s.kind == "unknown"]
        if unknown:
            ev = Collected()
            ev.add_log_lines((ln for s in unknown for ln in s.splitlines() if ln.strip()), self.matcher)
            if ev.grouper.groups:
                return _Part(name, text, True, questions)
        return _Part(name, text, False, questions)

    def _question(
        self, state: ConversationState, parts: list[_Part], masked: tuple[Masked, ...]
    ) -> tuple[ConversationState, list[Reply]]:
        text = "\n".join(p.text for p in parts).strip()
        note = texts.masked_note(masked)
        d = self.diagnose(state.pastes, state) if state.pastes else None
        own = answer_from_thread(d, text, d is not None and concerns_capacity(self.kb, d))
        if own is not None:
            body, files = texts.fit(own)
            return state, [texts.with_note(Reply("explain", body, attachments=files), note)]
        return state, [texts.with_note(reply, note) for reply in self._answer_question(text, parts)]

    def _answer_question(self, text: str, parts: list[_Part]) -> list[Reply]:
        asked = any(p.questions for p in parts)
        if len(text) > QUESTION_MAX_CHARS:
            return [Reply("error", texts.nothing_recognised(text))]
        answer = self.faq.ask(text)
        if answer.confident and answer.answer:
            return [self._faq_reply(answer)]
        if answer.declined and "\n" not in text:
            return [Reply("error", say("faq.declined"), answer=answer)]
        if answer.alternatives and not answer.declined and (asked or answer.score >= FAQ_MIN_SCORE):
            body = say("conversation.faq_unsure", questions=[a.question for a in answer.alternatives])
            return [Reply("faq_unsure", body, answer=answer)]
        return [Reply("error", texts.nothing_recognised(text))]

    def _faq_reply(self, answer: Answer) -> Reply:
        """A confident answer, with up to three related questions when they fit."""
        body, files = texts.fit(say("conversation.faq_answer", question=answer.question, answer=answer.answer))
        if answer.alternatives:
            related = "\n".join(f"- {a.question}" for a in answer.alternatives[:3])
            if len(body) + len(related) < texts.TEXT_LIMIT - 20:
                body += say("conversation.faq_related", related=related)
        return Reply("faq", body, answer=answer, attachments=files)

    def _evidence(
        self, state: ConversationState, parts: list[_Part], masked: tuple[Masked, ...]
    ) -> tuple[ConversationState, list[Reply]]:
        before = self.diagnose(state.pastes, state) if state.pastes else None
        sniffed = _sniffed(len(state.pastes), parts)
        state.pastes.extend(p.text for p in parts)
        if any(p.config_dump for p in parts):
            state.config_stale = False
        after = self.diagnose(state.pastes, state, sniffed)
        replies = diagnosis_replies(self.kb, state, after, before, texts.masked_note(masked))
        for q in (q for p in parts for q in p.questions):
            answer = self.faq.ask(q)
            if answer.confident and answer.answer:
                asked = say("conversation.faq_also_asked", question=answer.question, answer=answer.answer)
                body, files = texts.fit(asked)
                replies.append(Reply("faq", body, answer=answer, attachments=files))
        return state, replies

    # -- guided mode ----------------------------------------------------------------------

    def _step_reply(self, step: GuideStep, d: Diagnosis, lead: str = "") -> Reply:
        values = {"lead": lead, "number": step.number, "total": step.total, "title": step.title}
        text = say("conversation.step", body=step.body, **values)
        if step.command:
            text += say("conversation.step_command", command=step.command.strip())
        if step.expect:
            text += say("conversation.step_expect", expect=step.expect)
        else:
            text += say("conversation.step_done_only")
        attachments: list[Attachment] = []
        if step.kind == "change" and d.diff:
            attachments.append(_diff_attachment(d))
        body, files = texts.fit(text, attachments)
        return Reply("guide_step", body, diagnosis=d, step=step, buttons=_step_buttons(step), attachments=files)

    def _finish(self, state: ConversationState, d: Diagnosis) -> Reply:
        state.guide_step = None
        state.awaiting_paste = None
        text = say("conversation.finished", total=len(build_steps(self.kb, d)))
        if focused(self.kb, d).alert_rule:
            text += say("conversation.finished_alert")
            attachments: tuple[Attachment, ...] = (
                Attachment(texts.ALERT_FILE, say("conversation.alert_title"), d.alert_rule, "yaml"),
            )
        else:
            attachments = ()
        buttons = _buttons_for_diagnosis()[1:]
        return Reply("guide_done", text, diagnosis=d, buttons=buttons, attachments=attachments)

    def _advance(self, state: ConversationState, number: int, d: Diagnosis, lead: str = "") -> Reply:
        if number not in state.guide_done:
            state.guide_done.append(number)
        state.awaiting_paste = None
        steps = build_steps(self.kb, d)
        if steps[number - 1].kind == "change" and d.diff:
            state.config_stale = True  # the thread's `nginx -T` predates the change now
        if number >= len(steps):
            return self._finish(state, d)
        state.guide_step = number + 1
        return self._step_reply(steps[number], d, lead)

    def _guide_paste(
        self, state: ConversationState, parts: list[_Part], masked: tuple[Masked, ...]
    ) -> tuple[ConversationState, list[Reply]]:
        assert state.guide_step is not None
        number = state.guide_step
        before = self.diagnose(state.pastes, state)
        step = guide_step(self.kb, before, number)
        note = texts.masked_note(masked)
        text = "\n".join(p.text for p in parts)
        if step.check == "evidence":
            # The check step gathers evidence: the paste joins the thread's evidence for good.
            wanted = required_kinds(self.kb, before)
            sniffed = _sniffed(len(state.pastes), parts)
            state.pastes.extend(p.text for p in parts)
            after = self.diagnose(state.pastes, state, sniffed)
            missing = [k for k in wanted if k not in after.evidence]
            changes = texts.diagnosis_changes(before, after, self.kb)
            verdict = evidence_verdict(step, texts.evidence_list(missing, self.kb), changes)
            return self._verdict(state, number, after, verdict, note)
        verdict = check_output(step, text, before, self.kb, self.matcher)
        return self._verdict(state, number, before, verdict, note)

    def _verdict(
        self, state: ConversationState, number: int, d: Diagnosis, verdict: Verdict, note: str
    ) -> tuple[ConversationState, list[Reply]]:
        steps = build_steps(self.kb, d)
        step = steps[number - 1]
        head = say("conversation.step_verdict", number=number, passed=verdict.passed)
        body, files = texts.fit(head + verdict.text, (), f"\n\n{note}" if note else "")
        if not verdict.passed:
            state.awaiting_paste = number
            return state, [
                Reply("guide_check", body, diagnosis=d, step=step, buttons=_step_buttons(step), attachments=files)
            ]
        replies = [Reply("guide_check", body, diagnosis=d, step=step, attachments=files)]
        replies.append(self._advance(state, number, d))
        return state, replies

    # -- buttons --------------------------------------------------------------------------

    def _action(self, state: ConversationState, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        action = incoming.action or ""
        if action.startswith("feedback_"):
            return self._feedback(state, incoming)
        if not action.startswith("guide_"):
            return state, [Reply("error", say("conversation.unknown_action", action=action))]
        if not state.pastes:
            return state, [Reply("error", say("conversation.nothing_to_walk"))]
        d = self.diagnose(state.pastes, state)
        steps = build_steps(self.kb, d)
        if not d.matches:
            return state, [Reply("error", say("conversation.no_error_to_fix"))]
        if action == "guide_start":
            state.guide_step, state.guide_done, state.awaiting_paste = 1, [], None
            return state, [self._step_reply(steps[0], d)]
        number = _step_number(incoming.action_value, state.guide_step)
        if number is None or not 1 <= number <= len(steps):
            return state, [Reply("error", say("conversation.not_in_guide"), buttons=_buttons_for_diagnosis()[:1])]
        if action == "guide_explain":
            step = steps[number - 1]
            return state, [Reply("explain", texts.fit(explain_step(self.kb, step, d))[0], diagnosis=d, step=step)]
        if state.guide_step is None:
            return state, [Reply("error", say("conversation.guide_not_running"), buttons=_buttons_for_diagnosis()[:1])]
        if number != state.guide_step:
            lead = say("conversation.not_current_step", number=number)
            return state, [self._step_reply(steps[state.guide_step - 1], d, lead)]
        if action == "guide_done":
            return state, [self._advance(state, number, d)]
        if action == "guide_paste":
            state.awaiting_paste = number
            step = steps[number - 1]
            one_line = step.command.strip() if step.command and "\n" not in step.command.strip() else None
            text = say("conversation.paste_for_step", command=one_line, expect=step.expect)
            return state, [Reply("guide_step", text, diagnosis=d, step=step, buttons=(_step_buttons(step)[2],))]
        return state, [Reply("error", say("conversation.unknown_guide_action", action=action))]

    def _feedback(self, state: ConversationState, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        kind = (incoming.action or "").removeprefix("feedback_")
        state.feedback.append(
            {
                "kind": kind,
                "user": incoming.user,
                "value": incoming.action_value or "",
                "step": str(state.guide_step or ""),
            }
        )
        if kind == "human":
            return state, [Reply("human_handoff", texts.fit(self._summary(state))[0])]
        text = say("conversation.feedback_helpful" if kind == "helpful" else "conversation.feedback_not_helpful")
        buttons = () if kind == "helpful" else (_buttons_for_diagnosis()[3],)
        return state, [Reply("feedback_thanks", text, buttons=buttons)]

    def _summary(self, state: ConversationState) -> str:
        """The thread in a few lines, for the person who takes over."""
        out = [say("conversation.handoff_heading")]
        if not state.pastes:
            out.append(say("conversation.handoff_nothing"))
            return "\n".join(out)
        d = self.diagnose(state.pastes, state)
        out.append(
            say(
                "conversation.handoff_pastes",
                pastes=len(state.pastes),
                evidence=texts.evidence_list(d.evidence, self.kb),
                environment=d.environment.get("title", "unknown"),
            )
        )
        for m in d.matches[:5]:
            out.append(say("conversation.handoff_match", title=m.title, count=m.count, severity=m.severity))
        for r in d.recommendations:
            out.append(say("conversation.handoff_proposed", change=texts.change_line(r)))
        if d.needs:
            out.append(say("conversation.handoff_missing", needs=[n.evidence for n in d.needs]))
        for f in cross_findings(d)[:MAX_FINDINGS]:
            out.append(say("conversation.handoff_finding", id=f.id, severity=f.severity))
        done = sorted(set(state.guide_done))
        if state.guide_step is not None:
            total = len(build_steps(self.kb, d))
            out.append(say("conversation.handoff_guide_at", step=state.guide_step, total=total, done=done))
        elif state.guide_done:
            out.append(say("conversation.handoff_guide_done", done=done))
        votes = [f["kind"] for f in state.feedback]
        helpful, not_helpful = votes.count("helpful"), votes.count("not_helpful")
        out.append(say("conversation.handoff_feedback", helpful=helpful, not_helpful=not_helpful))
        return "\n".join(out)


def _sniffed(first: int, parts: list[_Part]) -> dict[int, tuple[Section, ...]]:
    """The sections already cut for ``parts``, by the index each will have among the thread's pastes."""
    return {first + n: p.sections for n, p in enumerate(parts) if p.sections is not None}


def _step_number(value: str | None, current: int | None) -> int | None:
    """The step a button names; buttons without a value mean the current step."""
    if value and is_number(value.strip()):
        return int(value.strip())
    return current
