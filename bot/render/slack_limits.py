"""Slack's Block Kit limits, and the check that a message or view keeps every one of them.

Slack rejects a message that breaks any limit (``invalid_blocks``, ``msg_blocks_too_long``)
and the user sees nothing; ``validate_blocks`` names each broken limit as ``where: what``,
so tests and the reply path catch it first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.lazy_re import lazy_compile

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
MAX_CONTEXT_ACTIONS_ELEMENTS = 5
"""A ``context_actions`` block holds 1-5 ``feedback_buttons`` / ``icon_button`` elements."""
MAX_ACCESSIBILITY_LABEL = 75
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_RICH_TEXT = 2900
"""Characters in one rich_text block's text elements: kept under the section limit, since Slack
documents none of its own for preformatted text."""
MAX_TOTAL_TEXT = 11_000
"""Cumulative block text: Slack answers ``msg_blocks_too_long`` somewhere around 11-13k."""
MAX_FALLBACK_TEXT = 3000

SPLIT_AT = MAX_SECTION_TEXT - 100
"""Split target below the hard limit: leaves room for re-opened fences, and Slack may count
astral characters (emoji) as two."""

MENTION = lazy_compile(r"<[!@#]")
"""An unescaped ``<@U…>``, ``<!channel>`` or ``<#C…>``: text from users or logs must never ping anyone."""


def text_length(node: Any) -> int:
    """Characters of text in a block tree, as Slack's cumulative limit counts them."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text", "text") and isinstance(node.get("text"), str):
            return len(node["text"])
        return sum(text_length(v) for v in node.values())
    if isinstance(node, list):
        return sum(text_length(v) for v in node)
    return 0


def _check_text_obj(obj: Any, where: str, limit: int, kinds: tuple[str, ...] = ("mrkdwn", "plain_text")) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
        return [f"{where}: must be a text object of type {'/'.join(kinds)}"]
    text = obj["text"]
    problems = []
    if not text.strip():
        problems.append(f"{where}: empty text")
    if len(text) > limit:
        problems.append(f"{where}: {len(text)} chars > {limit}")
    if obj["type"] == "mrkdwn" and MENTION.search(text):
        problems.append(f"{where}: unescaped mention or channel ping {MENTION.search(text)!r}")
    return problems


def _check_header(block: dict[str, Any], where: str) -> list[str]:
    return _check_text_obj(block.get("text"), f"{where}.text", MAX_HEADER_TEXT, ("plain_text",))


def _check_section(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if "text" not in block and not block.get("fields"):
        problems.append(f"{where}: a section needs text or fields")
    if "text" in block:
        problems += _check_text_obj(block["text"], f"{where}.text", MAX_SECTION_TEXT)
    fields = block.get("fields", [])
    if len(fields) > MAX_FIELDS:
        problems.append(f"{where}.fields: {len(fields)} > {MAX_FIELDS}")
    for j, f in enumerate(fields):
        problems += _check_text_obj(f, f"{where}.fields[{j}]", MAX_FIELD_TEXT)
    return problems


def _check_context(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    els = block.get("elements", [])
    if not els or len(els) > MAX_CONTEXT_ELEMENTS:
        problems.append(f"{where}.elements: {len(els)} elements, allowed 1-{MAX_CONTEXT_ELEMENTS}")
    for j, el in enumerate(els):
        if el.get("type") != "image":
            problems += _check_text_obj(el, f"{where}.elements[{j}]", MAX_CONTEXT_TEXT)
    return problems


def _check_button(el: dict[str, Any], where: str) -> list[str]:
    problems = _check_text_obj(el.get("text"), f"{where}.text", MAX_BUTTON_TEXT, ("plain_text",))
    if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
        problems.append(f"{where}.value: longer than {MAX_BUTTON_VALUE}")
    if len(str(el.get("url", ""))) > MAX_BUTTON_URL:
        problems.append(f"{where}.url: longer than {MAX_BUTTON_URL}")
    return problems


def _check_actions(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    els = block.get("elements", [])
    if not els or len(els) > MAX_ACTIONS_ELEMENTS:
        problems.append(f"{where}.elements: {len(els)} elements, allowed 1-{MAX_ACTIONS_ELEMENTS}")
    ids = [str(el.get("action_id", "")) for el in els]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: duplicate action_id in one block: {ids}")
    for j, el in enumerate(els):
        w = f"{where}.elements[{j}]"
        if el.get("type") == "button":
            problems += _check_button(el, w)
        if not el.get("action_id") or len(str(el["action_id"])) > MAX_ACTION_ID:
            problems.append(f"{w}.action_id: missing or longer than {MAX_ACTION_ID}")
    return problems


def _check_feedback_button(button: Any, where: str) -> list[str]:
    """One of a ``feedback_buttons`` element's two buttons: plain text, a value, an optional label."""
    if not isinstance(button, dict):
        return [f"{where}: missing"]
    problems = _check_text_obj(button.get("text"), f"{where}.text", MAX_BUTTON_TEXT, ("plain_text",))
    value = button.get("value")
    if not isinstance(value, str) or not value:
        problems.append(f"{where}.value: required")
    elif len(value) > MAX_BUTTON_VALUE:
        problems.append(f"{where}.value: longer than {MAX_BUTTON_VALUE}")
    if len(str(button.get("accessibility_label", ""))) > MAX_ACCESSIBILITY_LABEL:
        problems.append(f"{where}.accessibility_label: longer than {MAX_ACCESSIBILITY_LABEL}")
    return problems


def _check_context_actions(block: dict[str, Any], where: str) -> list[str]:
    """Slack's ``context_actions`` block: 1-5 feedback or icon buttons, each with its action id."""
    problems: list[str] = []
    els = block.get("elements", [])
    if not isinstance(els, list) or not els or len(els) > MAX_CONTEXT_ACTIONS_ELEMENTS:
        count = len(els) if isinstance(els, list) else 0
        return [f"{where}.elements: {count} elements, allowed 1-{MAX_CONTEXT_ACTIONS_ELEMENTS}"]
    ids = [str(el.get("action_id", "")) for el in els if isinstance(el, dict)]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: duplicate action_id in one block: {ids}")
    for j, el in enumerate(els):
        w = f"{where}.elements[{j}]"
        kind = el.get("type") if isinstance(el, dict) else None
        if kind == "feedback_buttons":
            problems += _check_feedback_button(el.get("positive_button"), f"{w}.positive_button")
            problems += _check_feedback_button(el.get("negative_button"), f"{w}.negative_button")
        elif kind == "icon_button":
            problems += _check_button(el, w)
        else:
            problems.append(f"{w}: only feedback_buttons and icon_button go in context_actions, got {kind!r}")
            continue
        if not el.get("action_id") or len(str(el["action_id"])) > MAX_ACTION_ID:
            problems.append(f"{w}.action_id: missing or longer than {MAX_ACTION_ID}")
    return problems


def _check_rich_text(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    els = block.get("elements")
    if not isinstance(els, list) or not els:
        return [f"{where}.elements: a rich_text block needs elements"]
    for j, el in enumerate(els):
        w = f"{where}.elements[{j}]"
        if el.get("type") not in ("rich_text_section", "rich_text_preformatted", "rich_text_list", "rich_text_quote"):
            problems.append(f"{w}: unknown rich_text element {el.get('type')!r}")
        parts = el.get("elements")
        if not isinstance(parts, list) or not parts:
            problems.append(f"{w}.elements: empty")
            continue
        size = sum(len(str(p.get("text", ""))) for p in parts)
        if size > MAX_RICH_TEXT:
            problems.append(f"{w}: {size} chars > {MAX_RICH_TEXT}")
        if not any(str(p.get("text", "")).strip() for p in parts):
            problems.append(f"{w}: empty text")
    return problems


def _check_section_expand(block: dict[str, Any], where: str) -> list[str]:
    if "expand" in block and not isinstance(block["expand"], bool):
        return [f"{where}.expand: must be true or false"]
    return []


def _no_check(block: dict[str, Any], where: str) -> list[str]:
    return []


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "header": _check_header,
    "section": lambda block, where: _check_section(block, where) + _check_section_expand(block, where),
    "context": _check_context,
    "actions": _check_actions,
    "context_actions": _check_context_actions,
    "divider": _no_check,
    "image": _no_check,
    "rich_text": _check_rich_text,
    "markdown": _no_check,
}
"""Block types this bot may send, each with the checks of its own limits."""


def _check_block(block: dict[str, Any], where: str) -> list[str]:
    check = _BLOCK_CHECKS.get(str(block.get("type")))
    if check is None:
        return [f"{where}: unknown block type {block.get('type')!r}"]
    problems: list[str] = []
    if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
        problems.append(f"{where}.block_id: longer than {MAX_BLOCK_ID}")
    return problems + check(block, where)


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
