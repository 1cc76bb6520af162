"""Render a ``Reply`` as a Slack message: Block Kit blocks, fallback text and files to upload.

Layout lives in Jinja2 templates (``templates/blocks/<kind>.json.j2``), one per reply kind,
turned into blocks by ``bot.render.layout``; ``bot.render.fitting`` keeps the message within
Slack's limits (the rest goes to ``details.md``, and the message says so) and
``bot.render.slack_limits`` checks every limit before anything is posted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.conversation.model import FEEDBACK_ACTION_ID, FEEDBACK_ELEMENT_ACTIONS, Attachment, Button, Reply
from bot.lazy_re import lazy_compile
from bot.render.fitting import DETAILS_FILENAME, fit_items
from bot.render.layout import plural, render_items
from bot.render.markdown import cross_findings, render_markdown
from bot.render.mrkdwn import from_markdown
from bot.render.slack_limits import MAX_FALLBACK_TEXT, MENTION, validate_blocks

DIFF_FILENAME = "nginx-triage-fix.diff"

_TURN_NOTES = lazy_compile(r"^\s*(?:\*\*What changed|I masked)")
"""Paragraphs of a diagnosis reply's text that only the engine knows (what changed with the
latest paste, secrets masked): not in ``Diagnosis``, so they are carried over from the text."""


def turn_notes(reply: Reply) -> list[str]:
    """The engine-only paragraphs of ``reply.text`` (see ``_TURN_NOTES``)."""
    return [p.strip() for p in reply.text.split("\n\n") if _TURN_NOTES.match(p)]


def step_lead(reply: Reply) -> str:
    """Text the engine put before "**Step N of M" (e.g. why this step is shown again)."""
    if reply.step is None:
        return ""
    head, marker, _ = reply.text.partition(f"**Step {reply.step.number} of")
    return head.strip() if marker else ""


@dataclass(frozen=True)
class SlackMessage:
    """One message ready for ``chat.postMessage`` plus files for ``files_upload_v2`` in the thread."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)


def _button_dicts(buttons: Iterable[Button]) -> list[dict[str, Any]]:
    return [asdict(b) for b in buttons]


def _feedback_item(buttons: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The buttons that stay buttons, and Slack's feedback element for helpful / not helpful.

    Each half of the element sends its engine action id as its ``value`` (the listener maps it
    back); "get a human" and a reply with only one of the pair keep ordinary buttons.
    """
    by_id = {str(b["action_id"]): b for b in buttons}
    if not all(a in by_id for a in FEEDBACK_ELEMENT_ACTIONS):
        return buttons, None
    positive, negative = ({**by_id[a], "value": a} for a in FEEDBACK_ELEMENT_ACTIONS)
    rest = [b for b in buttons if str(b["action_id"]) not in FEEDBACK_ELEMENT_ACTIONS]
    return rest, {"type": "feedback", "action_id": FEEDBACK_ACTION_ID, "positive": positive, "negative": negative}


def _files_for(reply: Reply) -> list[Attachment]:
    files = list(reply.attachments)
    d = reply.diagnosis
    # Only the diagnosis itself brings the patch: guide steps carry the diagnosis too, and the
    # engine decides which of them repeat the file (re-uploading it on every step is noise).
    if reply.kind == "diagnosis" and d is not None and d.diff and not any(f.filename == DIFF_FILENAME for f in files):
        files.append(Attachment(DIFF_FILENAME, "the fix as a unified diff, for patch -p0", d.diff, "diff"))
    return files


def _details(reply: Reply) -> Attachment:
    """The complete reply as Markdown: what a trimmed message points to."""
    if reply.diagnosis is not None:
        body = render_markdown(reply.diagnosis)
    else:
        body = reply.text.strip() + "\n"
        if reply.answer is not None and reply.answer.answer and reply.answer.answer not in body:
            body += f"\n## {reply.answer.question or 'Answer'}\n\n{reply.answer.answer}\n"
    return Attachment(DETAILS_FILENAME, "nginx-triage: full details", body, "markdown")


def fallback_text(reply: Reply) -> str:
    """Notification and screen-reader text: the reply's own text, escaped, within 3,000 chars.

    When it is longer it is cut at a line boundary and says where the rest is; the message
    blocks (and ``details.md`` when used) carry everything.
    """
    text = from_markdown(reply.text).strip()
    if not text:
        d = reply.diagnosis
        if d is not None and d.matches:
            text = f"NGINX triage: {plural(len(d.matches), 'kind')} of error in {plural(d.lines, 'line')}"
        else:
            text = f"nginx-triage: {reply.kind.replace('_', ' ')}"
    if len(text) <= MAX_FALLBACK_TEXT:
        return text
    note = "\n… (continued in the message below)"
    room = MAX_FALLBACK_TEXT - len(note)
    cut = text.rfind("\n", 0, room)
    head = text[: cut if cut > room // 2 else room]
    amp = head.rfind("&", len(head) - 5)
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head.rstrip() + note


def render_reply(reply: Reply) -> SlackMessage:
    """The Slack message for one reply: blocks within limits, fallback text, files to upload."""
    files = _files_for(reply)
    template = f"blocks/{reply.kind}.json.j2"
    if reply.kind == "diagnosis" and reply.diagnosis is None:
        template = "blocks/explain.json.j2"
    buttons, feedback = _feedback_item(_button_dicts(reply.buttons))
    layout = render_items(
        template,
        reply=reply,
        d=reply.diagnosis,
        special=cross_findings(reply.diagnosis) if reply.diagnosis is not None else [],
        answer=reply.answer,
        step=reply.step,
        notes=turn_notes(reply) if reply.diagnosis is not None else [],
        lead=step_lead(reply),
        action_buttons=buttons,
        feedback=feedback,
        files=files,
    )
    blocks, trimmed = fit_items(layout)
    if trimmed:
        files = [f for f in files if f.filename != DETAILS_FILENAME] + [_details(reply)]
    return SlackMessage(text=fallback_text(reply), blocks=blocks, files=files)


def validate_message(msg: SlackMessage) -> list[str]:
    """All limit violations in a message (empty when it can be posted as is)."""
    problems = validate_blocks(msg.blocks)
    if not msg.text.strip():
        problems.append("text: the fallback text is empty")
    if len(msg.text) > MAX_FALLBACK_TEXT:
        problems.append(f"text: {len(msg.text)} chars > {MAX_FALLBACK_TEXT}")
    if MENTION.search(msg.text):
        problems.append("text: unescaped mention or channel ping")
    names = [f.filename for f in msg.files]
    if len(set(names)) != len(names):
        problems.append(f"files: duplicate file names {names}")
    for f in msg.files:
        if not f.filename.strip() or not f.content:
            problems.append(f"files: {f.filename!r} has no name or no content")
    return problems
