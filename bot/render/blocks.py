"""Render a ``Reply`` as a Slack message: Block Kit blocks, fallback text and files to upload.

Layout lives in Jinja2 templates (``templates/blocks/<kind>.json.j2``), one per reply
kind. A template emits a stream of JSON *layout items* (no commas between them), a small
vocabulary a little above Block Kit:

``header`` (plain text), ``section`` (mrkdwn, any length), ``fields`` (any number),
``context`` (any number of elements), ``divider``, ``actions`` (any number of buttons).

This module turns items into real blocks and owns Slack's limits, so templates never
count characters: long text is split over several sections at line boundaries (code
fences closed and reopened), long lists over several blocks. When the whole would still
break a message limit (50 blocks, ~11,000 characters of block text), items are dropped in
the order their ``drop`` rank says (higher first, later first; 0 = never), a one-line
``alt`` stands in for each dropped item that has one, the complete reply goes into
``details.md`` and the message says so. Nothing is cut silently.

Every value derived from users or logs reaches a template through the ``esc``, ``md``,
``code`` or ``ic`` filters (all escape ``&``, ``<``, ``>``), and into JSON through ``tojson``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.conversation.model import Attachment, Button, Reply
from bot.render.markdown import cross_findings, render_markdown
from bot.render.mrkdwn import code_block, escape, from_markdown, inline_code

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_TOTAL_TEXT = 11_000
"""Cumulative block text: Slack answers ``msg_blocks_too_long`` somewhere around 11-13k."""
MAX_FALLBACK_TEXT = 3000

SPLIT_AT = MAX_SECTION_TEXT - 100
"""Split target below the hard limit: leaves room for re-opened fences, and Slack may count
astral characters (emoji) as two."""

DETAILS_FILENAME = "details.md"
DIFF_FILENAME = "nginx-triage-fix.diff"

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":large_blue_circle:",
    "info": ":white_circle:",
}

_FEEDBACK_PREFIX = "feedback_"
_KNOWN_BLOCKS = frozenset({"header", "section", "context", "divider", "actions", "image", "rich_text", "markdown"})
_MENTION = re.compile(r"<[!@#]")
_TURN_NOTES = re.compile(r"^\s*(?:\*\*What changed|I masked)")
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


# -- templates -----------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """Visibly shorten a quote (an ellipsis shows it); full text stays in ``details.md``."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


@lru_cache(maxsize=1)
def template_env() -> Environment:
    """The Jinja2 environment for Block Kit layouts (shared with the App Home view)."""
    env = Environment(
        loader=PackageLoader("bot.render", "templates"),
        autoescape=False,  # output is JSON built with |tojson; mrkdwn escaping is explicit
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(esc=escape, md=from_markdown, code=code_block, ic=inline_code, clip=_clip)
    env.globals.update(plural=_plural, sev=SEVERITY_EMOJI)
    return env


def render_items(template: str, **context: Any) -> list[dict[str, Any]]:
    """Render a layout template into its stream of layout items."""
    out = template_env().get_template(template).render(**context)
    decoder = json.JSONDecoder()
    items: list[dict[str, Any]] = []
    pos = 0
    while True:
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            return items
        try:
            item, pos = decoder.raw_decode(out, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{template}: layout item at char {exc.pos} is not JSON: {exc.msg}") from exc
        if not isinstance(item, dict) or "type" not in item:
            raise ValueError(f"{template}: layout items must be objects with a type, got {item!r:.80}")
        items.append(item)


# -- items -> blocks -------------------------------------------------------------------------


def _fence_toggles(line: str) -> bool:
    return line.count("```") % 2 == 1


def _hard_split(line: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces, never inside an ``&amp;``-style entity."""
    pieces: list[str] = []
    while len(line) > limit:
        cut = limit
        amp = line.rfind("&", cut - 5, cut)
        if amp != -1 and ";" not in line[amp:cut]:
            cut = amp
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def split_text(text: str, limit: int = SPLIT_AT) -> list[str]:
    """Split mrkdwn at line boundaries into chunks of at most ``limit`` characters.

    A chunk that ends inside a code fence gets the fence closed, and the next one reopens
    it, so every chunk renders on its own.
    """
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(_hard_split(line, limit - 8) if len(line) > limit - 8 else [line])
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    fenced = False
    for line in lines:
        if cur and size + len(line) + 1 + (4 if fenced else 0) > limit:
            carry: list[str] = []
            if fenced:
                if _fence_toggles(cur[-1]):  # do not end a chunk on a bare opening fence
                    carry = [cur.pop()]
                else:
                    cur.append("```")
                    carry = ["```"]
            if any(s.strip() for s in cur):
                chunks.append("\n".join(cur))
            cur, size = carry, sum(len(s) + 1 for s in carry)
        cur.append(line)
        size += len(line) + 1
        if _fence_toggles(line):
            fenced = not fenced
    if any(s.strip() for s in cur):
        chunks.append("\n".join(cur))
    return chunks


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def button_element(b: dict[str, Any]) -> dict[str, Any]:
    """A Block Kit button from a ``Button`` (as a dict); machine fields that break limits raise."""
    action_id, value = str(b["action_id"]), str(b.get("value") or "")
    if len(action_id) > MAX_ACTION_ID:
        raise ValueError(f"button action_id is {len(action_id)} chars, Slack allows {MAX_ACTION_ID}")
    if len(value) > MAX_BUTTON_VALUE:
        # Shortening a value would corrupt what the click carries: state belongs in the store.
        raise ValueError(f"button {action_id!r} value is {len(value)} chars, Slack allows {MAX_BUTTON_VALUE}")
    el: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(_clip(str(b["text"]), MAX_BUTTON_TEXT)),
    }
    if value:
        el["value"] = value
    if b.get("style") in ("primary", "danger"):
        el["style"] = b["style"]
    return el


def _chunks(seq: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def expand(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The Block Kit blocks for one layout item, each within Slack's per-block limits."""
    kind = item["type"]
    if kind == "header":
        text = " ".join(str(item["text"]).split())
        if not text:
            return []
        if len(text) <= MAX_HEADER_TEXT:
            return [{"type": "header", "text": _plain(text)}]
        # Too long for a header: the same words as a bold section, nothing lost.
        return [{"type": "section", "text": _mrkdwn(f"*{escape(text)}*")}]
    if kind == "section":
        return [{"type": "section", "text": _mrkdwn(chunk)} for chunk in split_text(str(item["text"]))]
    if kind == "fields":
        fields = [str(f) for f in item.get("fields", []) if str(f).strip()]
        long = [f for f in fields if len(f) > MAX_FIELD_TEXT]
        short = [f for f in fields if len(f) <= MAX_FIELD_TEXT]
        blocks: list[dict[str, Any]] = []
        head = str(item.get("text") or "").strip()
        for i, group in enumerate(_chunks(short, MAX_FIELDS)):
            block: dict[str, Any] = {"type": "section", "fields": [_mrkdwn(f) for f in group]}
            if i == 0 and head and len(head) <= SPLIT_AT:
                block["text"] = _mrkdwn(head)
                head = ""
            blocks.append(block)
        if head:
            blocks[:0] = expand({"type": "section", "text": head})
        for f in long:
            blocks += expand({"type": "section", "text": f})
        return blocks
    if kind == "context":
        elements: list[str] = []
        for el in item.get("elements", []):
            elements += split_text(str(el), MAX_CONTEXT_TEXT - 100)
        return [
            {"type": "context", "elements": [_mrkdwn(e) for e in group]}
            for group in _chunks(elements, MAX_CONTEXT_ELEMENTS)
        ]
    if kind == "divider":
        return [{"type": "divider"}]
    if kind == "actions":
        buttons = [button_element(b) for b in item.get("buttons", [])]
        return [{"type": "actions", "elements": list(group)} for group in _chunks(buttons, MAX_ACTIONS_ELEMENTS)]
    raise ValueError(f"unknown layout item type {kind!r}")


def text_length(node: Any) -> int:
    """Characters of text in a block tree, as Slack's cumulative limit counts them."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            return len(node["text"])
        return sum(text_length(v) for v in node.values())
    if isinstance(node, list):
        return sum(text_length(v) for v in node)
    return 0


# -- fitting a message ------------------------------------------------------------------------


@dataclass
class _Item:
    blocks: list[dict[str, Any]]
    drop: int
    label: str
    alt: str | None
    kept: int = -1  # blocks kept; -1 = all

    @property
    def shown(self) -> list[dict[str, Any]]:
        return self.blocks if self.kept < 0 else self.blocks[: self.kept]

    @property
    def whole(self) -> bool:
        return self.kept < 0 or self.kept == len(self.blocks)


def _notice_blocks(left_out: list[str]) -> list[dict[str, Any]]:
    labels = ", ".join(dict.fromkeys(left_out))
    text = (
        f":page_facing_up: Not everything fits in one Slack message: full details attached as a file, "
        f"`{DETAILS_FILENAME}`" + (f" (left out here: {labels})." if labels else ".")
    )
    return [{"type": "context", "elements": [_mrkdwn(text)]}]


def _alt_blocks(alts: list[str], budget: int | None) -> list[dict[str, Any]]:
    """The one-line stand-ins for dropped items; all of them unless a text budget is given."""
    if not alts:
        return []
    lines = ["*Also found* (in full in the attached file):"]
    used = len(lines[0])
    for i, alt in enumerate(alts):
        if budget is not None and used + len(alt) + 1 > budget:
            lines.append(f"…and {len(alts) - i} more, listed in `{DETAILS_FILENAME}`.")
            break
        lines.append(alt)
        used += len(alt) + 1
    return [{"type": "section", "text": _mrkdwn(chunk)} for chunk in split_text("\n".join(lines))]


def _assemble(items: list[_Item], alt_budget: int | None) -> list[dict[str, Any]]:
    """Kept blocks in order; dropped items' alts at the first dropped item; the notice before buttons."""
    out: list[dict[str, Any]] = []
    alts = [it.alt for it in items if not it.whole and it.alt]
    alt_at = next((i for i, it in enumerate(items) if not it.whole and it.alt), None)
    left_out = [(f"the rest of {it.label}" if it.kept > 0 else it.label) for it in items if not it.whole and not it.alt]
    if alt_at is not None:
        left_out.insert(0, f"{items[alt_at].label}: {len(alts)} shown in one line each")
    for i, it in enumerate(items):
        if i == alt_at:
            out += _alt_blocks(alts, alt_budget)
        out += it.shown
    if any(not it.whole for it in items):
        at = next((i for i, b in enumerate(out) if b["type"] == "actions"), len(out))
        # Feedback buttons sit under their own context line: the notice goes above both.
        if at > 0 and out[at - 1]["type"] == "context" and at == len(out) - 1:
            at -= 1
        out[at:at] = _notice_blocks(left_out)
    return out


def _fits(blocks: list[dict[str, Any]]) -> bool:
    return len(blocks) <= MAX_BLOCKS and text_length(blocks) <= MAX_TOTAL_TEXT


def fit_items(layout: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Blocks within the message limits, and whether anything was left out (goes to a file)."""
    items = [
        _Item(expand(it), int(it.get("drop", 0)), str(it.get("label") or it["type"]), it.get("alt")) for it in layout
    ]
    items = [it for it in items if it.blocks]
    fixed = sum(text_length(it.blocks) for it in items if it.drop == 0)
    while True:
        # The one-line list of dropped items is the overview: it stays whole while
        # anything else can still leave the message.
        blocks = _assemble(items, None)
        if _fits(blocks):
            return blocks, any(not it.whole for it in items)
        candidates = [(it.drop, i) for i, it in enumerate(items) if it.drop > 0 and it.kept != 0]
        if not candidates:
            break
        _, i = max(candidates)
        it = items[i]
        # A long text item loses its trailing sections one by one; others go whole.
        if it.alt is None and len(it.blocks) > 1 and all(b["type"] == "section" for b in it.blocks):
            it.kept = (len(it.blocks) if it.kept < 0 else it.kept) - 1
        else:
            it.kept = 0
    kept_text = sum(text_length(it.shown) for it in items)
    blocks = _assemble(items, max(200, MAX_TOTAL_TEXT - kept_text - 600))
    if _fits(blocks):
        return blocks, True
    raise ValueError(
        f"reply cannot fit one Slack message: {len(blocks)} blocks, "
        f"{text_length(blocks)} chars of which {fixed} may not move to a file"
    )


# -- replies ---------------------------------------------------------------------------------


def _button_dicts(buttons: Iterable[Button]) -> list[dict[str, Any]]:
    return [asdict(b) for b in buttons]


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
            text = f"NGINX triage: {_plural(len(d.matches), 'kind')} of error in {_plural(d.lines, 'line')}"
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
    buttons = _button_dicts(reply.buttons)
    layout = render_items(
        template,
        reply=reply,
        d=reply.diagnosis,
        special=cross_findings(reply.diagnosis) if reply.diagnosis is not None else [],
        answer=reply.answer,
        step=reply.step,
        notes=turn_notes(reply) if reply.diagnosis is not None else [],
        lead=step_lead(reply),
        action_buttons=[b for b in buttons if not str(b["action_id"]).startswith(_FEEDBACK_PREFIX)],
        feedback_buttons=[b for b in buttons if str(b["action_id"]).startswith(_FEEDBACK_PREFIX)],
        files=files,
    )
    blocks, trimmed = fit_items(layout)
    if trimmed:
        files = [f for f in files if f.filename != DETAILS_FILENAME] + [_details(reply)]
    return SlackMessage(text=fallback_text(reply), blocks=blocks, files=files)


# -- validation ------------------------------------------------------------------------------


def _check_text_obj(obj: Any, where: str, limit: int, kinds: tuple[str, ...] = ("mrkdwn", "plain_text")) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
        return [f"{where}: must be a text object of type {'/'.join(kinds)}"]
    text = obj["text"]
    problems = []
    if not text.strip():
        problems.append(f"{where}: empty text")
    if len(text) > limit:
        problems.append(f"{where}: {len(text)} chars > {limit}")
    if obj["type"] == "mrkdwn" and _MENTION.search(text):
        problems.append(f"{where}: unescaped mention or channel ping {_MENTION.search(text)!r}")
    return problems


def _check_block(block: dict[str, Any], where: str) -> list[str]:  # noqa: C901 (split in the reshape, issue 12)
    kind = block.get("type")
    problems: list[str] = []
    if kind not in _KNOWN_BLOCKS:
        return [f"{where}: unknown block type {kind!r}"]
    if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
        problems.append(f"{where}.block_id: longer than {MAX_BLOCK_ID}")
    if kind == "header":
        problems += _check_text_obj(block.get("text"), f"{where}.text", MAX_HEADER_TEXT, ("plain_text",))
    elif kind == "section":
        if "text" not in block and not block.get("fields"):
            problems.append(f"{where}: a section needs text or fields")
        if "text" in block:
            problems += _check_text_obj(block["text"], f"{where}.text", MAX_SECTION_TEXT)
        fields = block.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"{where}.fields: {len(fields)} > {MAX_FIELDS}")
        for j, f in enumerate(fields):
            problems += _check_text_obj(f, f"{where}.fields[{j}]", MAX_FIELD_TEXT)
    elif kind == "context":
        els = block.get("elements", [])
        if not els or len(els) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"{where}.elements: {len(els)} elements, allowed 1-{MAX_CONTEXT_ELEMENTS}")
        for j, el in enumerate(els):
            if el.get("type") != "image":
                problems += _check_text_obj(el, f"{where}.elements[{j}]", MAX_CONTEXT_TEXT)
    elif kind == "actions":
        els = block.get("elements", [])
        if not els or len(els) > MAX_ACTIONS_ELEMENTS:
            problems.append(f"{where}.elements: {len(els)} elements, allowed 1-{MAX_ACTIONS_ELEMENTS}")
        ids = [str(el.get("action_id", "")) for el in els]
        if len(set(ids)) != len(ids):
            problems.append(f"{where}: duplicate action_id in one block: {ids}")
        for j, el in enumerate(els):
            w = f"{where}.elements[{j}]"
            if el.get("type") == "button":
                problems += _check_text_obj(el.get("text"), f"{w}.text", MAX_BUTTON_TEXT, ("plain_text",))
                if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
                    problems.append(f"{w}.value: longer than {MAX_BUTTON_VALUE}")
                if len(str(el.get("url", ""))) > MAX_BUTTON_URL:
                    problems.append(f"{w}.url: longer than {MAX_BUTTON_URL}")
            if not el.get("action_id") or len(str(el["action_id"])) > MAX_ACTION_ID:
                problems.append(f"{w}.action_id: missing or longer than {MAX_ACTION_ID}")
    return problems


def validate_blocks(
    blocks: list[dict[str, Any]], *, max_blocks: int = MAX_BLOCKS, max_text: int | None = MAX_TOTAL_TEXT
) -> list[str]:
    """Every Block Kit limit this bot can hit, as ``where: what`` problems (empty = valid)."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"blocks: {len(blocks)} > {max_blocks}")
    for i, block in enumerate(blocks):
        problems += _check_block(block, f"blocks[{i}]")
    total = text_length(blocks)
    if max_text is not None and total > max_text:
        problems.append(f"blocks: {total} chars of text > {max_text} (msg_blocks_too_long)")
    return problems


def validate_message(msg: SlackMessage) -> list[str]:
    """All limit violations in a message (empty when it can be posted as is)."""
    problems = validate_blocks(msg.blocks)
    if not msg.text.strip():
        problems.append("text: the fallback text is empty")
    if len(msg.text) > MAX_FALLBACK_TEXT:
        problems.append(f"text: {len(msg.text)} chars > {MAX_FALLBACK_TEXT}")
    if _MENTION.search(msg.text):
        problems.append("text: unescaped mention or channel ping")
    names = [f.filename for f in msg.files]
    if len(set(names)) != len(names):
        problems.append(f"files: duplicate file names {names}")
    for f in msg.files:
        if not f.filename.strip() or not f.content:
            problems.append(f"files: {f.filename!r} has no name or no content")
    return problems
