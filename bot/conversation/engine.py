"""The conversation state machine: one thread's state and one user action in, new state and replies out.

Pure on purpose: no Slack, no database, no terminal, no clock beyond the state's own
timestamps. The Slack adapter and ``nginx-triage chat`` both drive it, the store persists
its ``ConversationState`` as JSON, and every decision is testable with plain data.

Every paste is redacted first and only the redacted text is kept; the diagnosis is
recomputed from all pastes of the thread on every turn, so a restarted bot (or another
replica) continues a thread from its stored state alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from bot.conversation import texts
from bot.conversation.guide import (
    Verdict,
    build_steps,
    check_change_output,
    check_reload_output,
    check_test_output,
    check_verify_output,
    explain_step,
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
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Diagnosis
from bot.evidence import is_evidence, sniff
from bot.evidence.redact import redact
from bot.faq.answer import FaqIndex
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher
from bot.render.markdown import cross_findings, render_markdown

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


def _buttons_for_diagnosis() -> tuple[Button, ...]:
    return (
        Button("guide_start", "Walk me through it", "1", "primary"),
        Button("feedback_helpful", "Helpful", "helpful"),
        Button("feedback_not_helpful", "Not helpful", "not_helpful"),
        Button("feedback_human", "Get a human", "human"),
    )


def _step_buttons(step: GuideStep) -> tuple[Button, ...]:
    value = str(step.number)
    return (
        Button("guide_done", "Done", value, "primary"),
        Button("guide_paste", "Paste output", value),
        Button("guide_explain", "Explain", value),
    )


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
    ) -> None:
        self.kb = kb
        self.matcher = matcher
        self.faq = FaqIndex(kb)
        self.max_paste_bytes = max_paste_bytes
        self.max_thread_bytes = max_thread_bytes

    # -- entry ----------------------------------------------------------------------------

    def handle(self, state: ConversationState | None, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        """The new state of the thread and the replies to send, in order."""
        current = _copy(state) if state is not None else ConversationState(thread=incoming.thread)
        unchanged = current.to_json()
        if incoming.action:
            new, replies = self._action(current, incoming)
        else:
            new, replies = self._message(current, incoming)
        if new.to_json() != unchanged:
            new.updated_at = max(time.time(), new.updated_at)
        return new, replies

    # -- diagnosis ------------------------------------------------------------------------

    def diagnose(self, pastes: list[str], state: ConversationState) -> Diagnosis:
        """The diagnosis from every paste of the thread (already redacted)."""
        ev = Collected()
        for i, text in enumerate(pastes, 1):
            ev.add_text(text, self.matcher, f"paste {i}")
        return diagnose_evidence(ev, self.kb, state.target_concurrency, state.environment)

    # -- messages -------------------------------------------------------------------------

    def _message(self, state: ConversationState, incoming: Incoming) -> tuple[ConversationState, list[Reply]]:
        raw = [("message", incoming.text)] if incoming.text.strip() else []
        raw += [(f.name, f.text) for f in incoming.files if f.text.strip()]
        if not raw or (not incoming.files and incoming.text.strip().lower().rstrip("!.") in HELP_WORDS):
            return state, [Reply("help", texts.HELP)]
        if not incoming.files and incoming.text.strip().lower() in THANKS_WORDS:
            return state, [
                Reply(
                    "feedback_thanks",
                    "Glad it helped. Press **Helpful** under the answer so the team knows what works.",
                )
            ]
        size = sum(len(text.encode("utf-8", "replace")) for _, text in raw)
        if size > self.max_paste_bytes:
            what = "upload" if incoming.files else "paste"
            return state, [Reply("error", texts.too_big(size, self.max_paste_bytes, what))]
        stored = sum(len(p.encode("utf-8", "replace")) for p in state.pastes)
        if stored + size > self.max_thread_bytes:
            return state, [Reply("error", texts.too_big(stored + size, self.max_thread_bytes, "thread"))]
        masked = 0
        parts: list[_Part] = []
        for name, text in raw:
            clean, n = redact(text)
            masked += n
            parts.append(self._classify(name, clean))
        evidence = [p for p in parts if p.evidence]
        if not evidence:
            return self._question(state, parts, masked)
        if state.guide_step is not None:
            return self._guide_paste(state, evidence, masked)
        return self._evidence(state, evidence, masked)

    def _classify(self, name: str, text: str) -> _Part:
        """Evidence or not; the matcher gets a say on text the sniffer could not place (mangled lines)."""
        sections = sniff(text)
        questions = tuple(s.text.strip() for s in sections if s.kind == "question")
        if any(is_evidence(s.kind) for s in sections):
            return _Part(name, text, True, questions)
        unknown = [s.text for s in sections if s.kind == "unknown"]
        if unknown:
            ev = Collected()
            ev.add_log_lines((ln for s in unknown for ln in s.splitlines() if ln.strip()), self.matcher)
            if ev.grouper.groups:
                return _Part(name, text, True, questions)
        return _Part(name, text, False, questions)

    def _question(
        self, state: ConversationState, parts: list[_Part], masked: int
    ) -> tuple[ConversationState, list[Reply]]:
        text = "\n".join(p.text for p in parts).strip()
        asked = any(p.questions for p in parts)
        if len(text) > QUESTION_MAX_CHARS:
            return state, [Reply("error", texts.nothing_recognised(text))]
        answer = self.faq.ask(text)
        if answer.confident and answer.answer:
            body, files = texts.fit(f"**{answer.question}**\n\n{answer.answer}")
            if answer.alternatives:
                related = "\n".join(f"- {a.question}" for a in answer.alternatives[:3])
                if len(body) + len(related) < texts.TEXT_LIMIT - 20:
                    body += f"\n\n**Related**\n{related}"
            return state, [Reply("faq", body, answer=answer, attachments=files)]
        if answer.alternatives and (asked or answer.score >= FAQ_MIN_SCORE):
            lines = "\n".join(f"{i}. {a.question}" for i, a in enumerate(answer.alternatives, 1))
            body = (
                "I am not sure which question you mean. The closest ones I can answer:\n"
                + lines
                + "\n\nAsk one of them in your words, or paste the error-log lines you are looking at."
            )
            return state, [Reply("faq_unsure", body, answer=answer)]
        return state, [Reply("error", texts.nothing_recognised(text))]

    def _evidence(
        self, state: ConversationState, parts: list[_Part], masked: int
    ) -> tuple[ConversationState, list[Reply]]:
        before = self.diagnose(state.pastes, state) if state.pastes else None
        state.pastes.extend(p.text for p in parts)
        after = self.diagnose(state.pastes, state)
        replies = [self._diagnosis_reply(after, before, masked)]
        for q in (q for p in parts for q in p.questions):
            answer = self.faq.ask(q)
            if answer.confident and answer.answer:
                body, files = texts.fit(f"You also asked: **{answer.question}**\n\n{answer.answer}")
                replies.append(Reply("faq", body, answer=answer, attachments=files))
        return state, replies

    def _diagnosis_reply(self, d: Diagnosis, before: Diagnosis | None, masked: int) -> Reply:  # noqa: C901 (split in the reshape, issue 12)
        out: list[str] = []
        complete = bool(d.matches) and not required_kinds(d)
        if d.matches:
            kinds = texts.plural(len(d.matches), "kind")
            out.append(f"**What I found** in {texts.plural(d.lines, 'log line')} ({kinds} of error):")
            out += [texts.match_line(m) for m in d.matches[:MAX_MATCH_LINES]]
            if len(d.matches) > MAX_MATCH_LINES:
                out.append(f"- and {len(d.matches) - MAX_MATCH_LINES} more (all in `{texts.REPORT_FILE}`)")
                complete = True
            top = d.matches[0]
            out.append(f"\n**What it means.** {texts.first_sentences(top.meaning, 450)}")
            if d.recommendations:
                out.append("\n**The fix so far**")
                out += [f"- {texts.change_line(r)}" for r in d.recommendations]
                if any(r.file is None for r in d.recommendations) and "nginx-T" not in d.evidence:
                    out.append("\n(I will name the file and line once I have your `nginx -T`.)")
            else:
                out.append(f"\n**The fix so far.** {texts.first_sentences(top.fix, 600)}")
            special = cross_findings(d)
            if special:
                out.append("\n**Also**")
                out += [f"- {texts.first_sentences(f.message, 260)}" for f in special[:MAX_FINDINGS]]
        elif d.lines:
            out.append(f"**No known NGINX error** in {texts.plural(d.lines, 'line')}. " + " ".join(d.notes))
        else:
            out.append(
                f"I read {texts.evidence_list(d.evidence, self.kb)}. Now paste the error-log lines you are "
                "looking at: `sudo tail -n 200 /var/log/nginx/error.log`."
            )
        changes = texts.diagnosis_changes(before, d, self.kb)
        if changes:
            out.append("\n**What changed with your new paste**")
            out += [f"- {c}" for c in changes]
        decisive = set(required_kinds(d))
        if decisive:
            out.append("\n**Still needed**: paste the output of these read-only commands in this thread:")
        elif d.matches:
            out.append("\nI have the evidence this fix needs. Press **Walk me through it** for the steps.")
            if d.needs:
                out.append("These would sharpen it further (optional):")
        elif d.needs:
            out.append("\n**Evidence that would help**:")
        out += [f"{i}. **{n.evidence}**: `{n.command}` ({n.why})" for i, n in enumerate(d.needs, 1)]
        if d.problems:
            out.append("\n**Could not read everything**")
            out += [f"- {p}" for p in d.problems[:3]]
        note = texts.masked_note(masked)
        if note:
            out.append(f"\n{note}")
        attachments: list[Attachment] = []
        if d.diff:
            attachments.append(Attachment(texts.DIFF_FILE, "The fix as a diff (apply with patch -p0)", d.diff, "diff"))
        if complete:
            attachments.append(Attachment(texts.REPORT_FILE, "The full diagnosis", render_markdown(d), "markdown"))
        body, files = texts.fit("\n".join(out), attachments)
        buttons = _buttons_for_diagnosis() if d.matches else _buttons_for_diagnosis()[1:]
        return Reply("diagnosis", body, diagnosis=d, buttons=buttons, attachments=files)

    # -- guided mode ----------------------------------------------------------------------

    def _step_reply(self, step: GuideStep, d: Diagnosis, lead: str = "") -> Reply:
        text = f"{lead}**Step {step.number} of {step.total}: {step.title}**\n\n{step.body}"
        if step.command:
            text += f"\n\n```\n{step.command.strip()}\n```"
        if step.expect:
            text += (
                f"\n\nPress **Done** when it is done, or **Paste output** and paste what it printed: "
                f"I check it shows {step.expect}."
            )
        else:
            text += "\n\nPress **Done** when it is done."
        attachments: list[Attachment] = []
        if step.kind == "change" and d.diff:
            attachments.append(Attachment(texts.DIFF_FILE, "The fix as a diff (apply with patch -p0)", d.diff, "diff"))
        body, files = texts.fit(text, attachments)
        return Reply("guide_step", body, diagnosis=d, step=step, buttons=_step_buttons(step), attachments=files)

    def _finish(self, state: ConversationState, d: Diagnosis) -> Reply:
        state.guide_step = None
        state.awaiting_paste = None
        text = (
            f"**All {len(build_steps(d))} steps done.** "
            "Keep an eye on the error log for a while; if the alert comes back, paste it here and I will "
            "look again with everything in this thread."
        )
        if d.alert_rule:
            text += "\n\nTo hear about it before users do, the alert rule sized to the new ceiling is attached."
            attachments: tuple[Attachment, ...] = (
                Attachment("nginx-triage-alert.yaml", "Prometheus alert rule", d.alert_rule, "yaml"),
            )
        else:
            attachments = ()
        buttons = _buttons_for_diagnosis()[1:]
        return Reply("guide_done", text, diagnosis=d, buttons=buttons, attachments=attachments)

    def _advance(self, state: ConversationState, number: int, d: Diagnosis, lead: str = "") -> Reply:
        if number not in state.guide_done:
            state.guide_done.append(number)
        state.awaiting_paste = None
        steps = build_steps(d)
        if number >= len(steps):
            return self._finish(state, d)
        state.guide_step = number + 1
        return self._step_reply(steps[number], d, lead)

    def _guide_paste(
        self, state: ConversationState, parts: list[_Part], masked: int
    ) -> tuple[ConversationState, list[Reply]]:
        assert state.guide_step is not None
        number = state.guide_step
        before = self.diagnose(state.pastes, state)
        step = build_steps(before)[number - 1]
        note = texts.masked_note(masked)
        text = "\n".join(p.text for p in parts)
        if step.kind == "check":
            # The check step gathers evidence: the paste joins the thread's evidence for good.
            wanted = required_kinds(before)
            state.pastes.extend(p.text for p in parts)
            after = self.diagnose(state.pastes, state)
            missing = [k for k in wanted if k not in after.evidence]
            changes = texts.diagnosis_changes(before, after, self.kb)
            summary = "\n".join(f"- {c}" for c in changes)
            if missing:
                verdict = Verdict(False, f"Thanks, I added it. Still missing: {texts.evidence_list(missing, self.kb)}.")
            else:
                verdict = Verdict(True, "Got it." + (f"\n{summary}" if summary else ""))
            return self._verdict(state, number, after, verdict, note)
        if step.kind == "test":
            verdict = check_test_output(text, self.kb, self.matcher)
        elif step.kind == "reload":
            verdict = check_reload_output(text, self.kb, self.matcher)
        elif step.kind == "change":
            verdict = check_change_output(text, before)
        else:
            verdict = check_verify_output(text, before, self.kb, self.matcher)
        return self._verdict(state, number, before, verdict, note)

    def _verdict(
        self, state: ConversationState, number: int, d: Diagnosis, verdict: Verdict, note: str
    ) -> tuple[ConversationState, list[Reply]]:
        steps = build_steps(d)
        step = steps[number - 1]
        head = f"**Step {number} {'passed' if verdict.passed else 'not passed yet'}.** "
        text = head + verdict.text + (f"\n\n{note}" if note else "")
        body, files = texts.fit(text)
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
            return state, [Reply("error", f"I do not know the action `{action}`. Say `help` for what I can do.")]
        if not state.pastes:
            return state, [
                Reply(
                    "error",
                    "There is nothing to walk through yet: paste the error-log lines first "
                    "(`sudo tail -n 200 /var/log/nginx/error.log`).",
                )
            ]
        d = self.diagnose(state.pastes, state)
        steps = build_steps(d)
        if not d.matches:
            return state, [
                Reply(
                    "error",
                    "I found no NGINX error to fix in this thread yet: paste the error-log "
                    "lines (`sudo tail -n 200 /var/log/nginx/error.log`).",
                )
            ]
        if action == "guide_start":
            state.guide_step, state.guide_done, state.awaiting_paste = 1, [], None
            return state, [self._step_reply(steps[0], d)]
        number = _step_number(incoming.action_value, state.guide_step)
        if number is None or not 1 <= number <= len(steps):
            return state, [
                Reply(
                    "error",
                    "That step is not part of this guide. Press **Walk me through it** to start again.",
                    buttons=_buttons_for_diagnosis()[:1],
                )
            ]
        if action == "guide_explain":
            return state, [
                Reply("explain", texts.fit(explain_step(steps[number - 1], d))[0], diagnosis=d, step=steps[number - 1])
            ]
        if state.guide_step is None:
            return state, [
                Reply(
                    "error",
                    "The guide is not running (it finished or was never started). Press "
                    "**Walk me through it** to start it.",
                    buttons=_buttons_for_diagnosis()[:1],
                )
            ]
        if number != state.guide_step:
            lead = f"Step {number} is not the current one; here is where we are.\n\n"
            return state, [self._step_reply(steps[state.guide_step - 1], d, lead)]
        if action == "guide_done":
            return state, [self._advance(state, number, d)]
        if action == "guide_paste":
            state.awaiting_paste = number
            step = steps[number - 1]
            what = step.expect or "the output"
            cmd = f"`{step.command.strip()}`" if step.command and "\n" not in step.command.strip() else "the command"
            return state, [
                Reply(
                    "guide_step",
                    f"Paste the output of {cmd} in this thread; I will check it shows {what}.",
                    diagnosis=d,
                    step=step,
                    buttons=(_step_buttons(step)[2],),
                )
            ]
        return state, [Reply("error", f"I do not know the action `{action}`.")]

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
        text = (
            "Thanks, noted: this helped."
            if kind == "helpful"
            else "Thanks for saying so. Paste more evidence and I will look again, or press **Get a human**."
        )
        buttons = () if kind == "helpful" else (_buttons_for_diagnosis()[3],)
        return state, [Reply("feedback_thanks", text, buttons=buttons)]

    def _summary(self, state: ConversationState) -> str:
        """The thread in a few lines, for the person who takes over."""
        out = ["**A human will take it from here.** Summary of this thread for them:"]
        if not state.pastes:
            out.append("- Nothing was pasted yet.")
            return "\n".join(out)
        d = self.diagnose(state.pastes, state)
        out.append(
            f"- {texts.plural(len(state.pastes), 'paste')} (secrets masked), evidence: "
            f"{texts.evidence_list(d.evidence, self.kb) or 'none recognised'}; environment: "
            f"{d.environment.get('title', 'unknown')}"
        )
        for m in d.matches[:5]:
            out.append(f"- {m.title}: {texts.plural(m.count, 'line')} ({m.severity})")
        for r in d.recommendations:
            out.append(f"- proposed: {texts.change_line(r)}")
        if d.needs:
            out.append(f"- still missing: {', '.join(n.evidence for n in d.needs)}")
        for f in cross_findings(d)[:MAX_FINDINGS]:
            out.append(f"- finding `{f.id}` ({f.severity})")
        if state.guide_step is not None:
            out.append(f"- guided fix: at step {state.guide_step} of 5, done {sorted(set(state.guide_done)) or 'none'}")
        elif state.guide_done:
            out.append(f"- guided fix: finished (steps {sorted(set(state.guide_done))})")
        votes = [f["kind"] for f in state.feedback]
        out.append(f"- feedback: {votes.count('helpful')} helpful, {votes.count('not_helpful')} not helpful")
        return "\n".join(out)


def _step_number(value: str | None, current: int | None) -> int | None:
    """The step a button names; buttons without a value mean the current step."""
    if value and value.strip().isdigit():
        return int(value.strip())
    return current
