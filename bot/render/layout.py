"""Block Kit layout: templates emit *layout items*, ``expand`` turns each into real blocks.

A template (``templates/blocks/<kind>.json.j2``) emits a stream of JSON items from a small
vocabulary a little above Block Kit: ``header`` (plain text), ``section`` (mrkdwn, any
length), ``fields`` (any number), ``context`` (any number of elements), ``divider``,
``actions`` (any number of buttons), ``feedback`` (Slack's 👍/👎 element: a ``context_actions``
block holding one ``feedback_buttons``). ``expand`` owns Slack's per-block limits, so templates
never count characters: long text is split over several sections at line boundaries (code
fences closed and reopened), long lists over several blocks.

Every value derived from users or logs reaches a template through the ``esc``, ``md``,
``code`` or ``ic`` filters (all escape ``&``, ``<``, ``>``), and into JSON through ``tojson``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.lazy_re import lazy_compile
from bot.render.mrkdwn import code_block, escape, from_markdown, inline_code
from bot.render.slack_limits import (
    MAX_ACTION_ID,
    MAX_ACTIONS_ELEMENTS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_RICH_TEXT,
    SPLIT_AT,
)

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":large_blue_circle:",
    "info": ":white_circle:",
}


def clip(text: str, limit: int) -> str:
    """Visibly shorten a quote (an ellipsis shows it); full text stays in ``details.md``."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SENTENCE_END = lazy_compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+")


def sentences(text: str, limit: int) -> str:
    """Whole sentences from the start, up to about ``limit`` characters (the first one always
    whole): a shortened explanation never stops inside a sentence."""
    out: list[str] = []
    used = 0
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if out and used + len(sentence) + 1 > limit:
            break
        out.append(sentence)
        used += len(sentence) + 1
    return " ".join(out)


def plural(n: int, word: str, plural: str | None = None) -> str:
    """``1 line``, ``3 lines``."""
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
    env.filters.update(esc=escape, md=from_markdown, code=code_block, ic=inline_code, clip=clip, sentences=sentences)
    env.globals.update(plural=plural, sev=SEVERITY_EMOJI)
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


def mrkdwn(text: str) -> dict[str, Any]:
    """A Block Kit mrkdwn text object."""
    return {"type": "mrkdwn", "text": text}


def plain_text(text: str) -> dict[str, Any]:
    """A Block Kit plain_text object (emoji shortcodes rendered)."""
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
        "text": plain_text(clip(str(b["text"]), MAX_BUTTON_TEXT)),
    }
    if value:
        el["value"] = value
    if b.get("style") in ("primary", "danger"):
        el["style"] = b["style"]
    return el


def feedback_element(action_id: str, positive: dict[str, Any], negative: dict[str, Any]) -> dict[str, Any]:
    """Slack's ``feedback_buttons`` element from two ``Button`` dicts; each button's ``value`` is
    what its click sends back, so one that breaks a limit raises (like ``button_element``)."""
    if not action_id or len(action_id) > MAX_ACTION_ID:
        raise ValueError(f"feedback action_id is {len(action_id)} chars, Slack allows 1-{MAX_ACTION_ID}")

    def half(b: dict[str, Any]) -> dict[str, Any]:
        value = str(b.get("value") or "")
        if not value or len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"feedback button value is {len(value)} chars, Slack needs 1-{MAX_BUTTON_VALUE}")
        text = clip(str(b["text"]), MAX_BUTTON_TEXT)
        return {"text": plain_text(text), "value": value, "accessibility_label": text}

    return {
        "type": "feedback_buttons",
        "action_id": action_id,
        "positive_button": half(positive),
        "negative_button": half(negative),
    }


def _chunks(seq: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def _expand_fields(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``fields`` item: short fields ten to a section (the head text on the first), long
    ones as sections of their own."""
    fields = [str(f) for f in item.get("fields", []) if str(f).strip()]
    long = [f for f in fields if len(f) > MAX_FIELD_TEXT]
    short = [f for f in fields if len(f) <= MAX_FIELD_TEXT]
    blocks: list[dict[str, Any]] = []
    head = str(item.get("text") or "").strip()
    for i, group in enumerate(_chunks(short, MAX_FIELDS)):
        block: dict[str, Any] = {"type": "section", "fields": [mrkdwn(f) for f in group]}
        if i == 0 and head and len(head) <= SPLIT_AT:
            block["text"] = mrkdwn(head)
            head = ""
        blocks.append(block)
    if head:
        blocks[:0] = expand({"type": "section", "text": head})
    for f in long:
        blocks += expand({"type": "section", "text": f})
    return blocks


def expand(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The Block Kit blocks for one layout item, each within Slack's per-block limits."""
    kind = item["type"]
    if kind == "header":
        text = " ".join(str(item["text"]).split())
        if not text:
            return []
        if len(text) <= MAX_HEADER_TEXT:
            return [{"type": "header", "text": plain_text(text)}]
        # Too long for a header: the same words as a bold section, nothing lost.
        return [{"type": "section", "text": mrkdwn(f"*{escape(text)}*")}]
    if kind == "section":
        extra = {"expand": bool(item["expand"])} if "expand" in item else {}
        return [{"type": "section", "text": mrkdwn(chunk), **extra} for chunk in split_text(str(item["text"]))]
    if kind == "rich_text":
        # A command to copy: a preformatted rich_text block (Slack's own code block), in pieces
        # at line boundaries when long; the text is raw (rich_text does no mrkdwn escaping).
        return [
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_preformatted", "elements": [{"type": "text", "text": chunk}]}],
            }
            for chunk in split_text(str(item["code"]).strip("\n"), MAX_RICH_TEXT)
        ]
    if kind == "fields":
        return _expand_fields(item)
    if kind == "context":
        elements: list[str] = []
        for el in item.get("elements", []):
            elements += split_text(str(el), MAX_CONTEXT_TEXT - 100)
        return [
            {"type": "context", "elements": [mrkdwn(e) for e in group]}
            for group in _chunks(elements, MAX_CONTEXT_ELEMENTS)
        ]
    if kind == "divider":
        return [{"type": "divider"}]
    if kind == "actions":
        buttons = [button_element(b) for b in item.get("buttons", [])]
        return [{"type": "actions", "elements": list(group)} for group in _chunks(buttons, MAX_ACTIONS_ELEMENTS)]
    if kind == "feedback":
        element = feedback_element(str(item["action_id"]), item["positive"], item["negative"])
        return [{"type": "context_actions", "elements": [element]}]
    raise ValueError(f"unknown layout item type {kind!r}")
