"""Turn Slack message text back into what the user pasted."""

from __future__ import annotations

import re

from bot.lazy_re import lazy_compile

_LINK_RE = lazy_compile(r"<((?:https?|mailto|ftp):[^|>\s]+)(?:\|([^>]*))?>")
_CHANNEL_RE = lazy_compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_USER_RE = lazy_compile(r"<@([UWB][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL_RE = lazy_compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_FENCE_RE = lazy_compile(r"```")


def mentions_user(text: str, user_id: str | None) -> bool:
    """True when ``text`` mentions ``user_id`` (``<@U…>`` or ``<@U…|name>``)."""
    if not user_id:
        return False
    return any(m.group(1) == user_id for m in _USER_RE.finditer(text))


def clean_text(text: str, bot_user_id: str | None = None) -> str:
    """Remove the bot mention, undo Slack's link markup and entity escaping, drop code fences.

    Slack turns ``http://10.0.0.1:8080/`` in a log line into ``<http://10.0.0.1:8080/>`` and
    ``<`` into ``&lt;``; the matcher needs the original line back.
    """

    def user(m: re.Match[str]) -> str:
        if bot_user_id and m.group(1) == bot_user_id:
            return ""
        return "@" + (m.group(2) or m.group(1))

    def link(m: re.Match[str]) -> str:
        url, label = m.group(1), m.group(2)
        # Slack labels auto-links with the text as typed (`<http://a.b|a.b>`): keep what was typed.
        return label if label else url

    text = _USER_RE.sub(user, text)
    text = _CHANNEL_RE.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL_RE.sub(lambda m: "@" + m.group(1), text)
    text = _LINK_RE.sub(link, text)
    text = _FENCE_RE.sub("", text)
    # &amp; last, so "&amp;lt;" (a literal "&lt;" typed by the user) stays "&lt;".
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()
