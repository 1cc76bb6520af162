"""Slack mrkdwn: escaping and a Markdown-to-mrkdwn converter.

Slack's mrkdwn is not Markdown: bold is ``*b*``, links are ``<url|text>``, and any ``<``
starts a link or a mention (``<!channel>``, ``<@U123>``). Text that comes from users or
logs must therefore never reach Slack with a raw ``<``, ``>`` or ``&``; Slack asks for
exactly those three to be escaped and nothing else (other entities show up literally).

Every function here is one pass over the input (regexes whose repeated parts stop at the
next delimiter, so no backtracking blow-up): a hostile 1 MB paste costs milliseconds.
"""

from __future__ import annotations

import re

from bot.lazy_re import lazy_compile

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = lazy_compile(r"[&<>]")

_FENCE = lazy_compile(r"^\s*(```|~~~)")
_HEADING = lazy_compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_BULLET = lazy_compile(r"^(\s*)[-*+]\s+(.*)$")
_RULE = lazy_compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")

# One alternative per inline construct. Every repeated class excludes its own closing
# delimiter *and* its opener, so a run of unclosed openers ("[[[[", "****") is scanned once.
_INLINE = lazy_compile(
    r"(?P<code>`[^`\n]+`)"
    r"|\[(?P<label>[^\[\]\n]+)\]\((?P<url>[^()\s]+)\)"
    r"|\*\*(?P<bold>[^*\n]+)\*\*"
    r"|__(?P<bold2>[^_\n]+)__"
    r"|~~(?P<strike>[^~\n]+)~~"
    r"|(?<![*\w])\*(?P<em>[^*\s](?:[^*\n]*[^*\s])?)\*(?![*\w])"
)
_SAFE_URL = lazy_compile(r"^(?:https?://|mailto:)[^\s|]+$", re.IGNORECASE)


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows them instead of parsing mentions or links."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], text)


def _inline(line: str) -> str:
    """Convert one line outside code fences; everything that is not syntax gets escaped."""
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(line):
        out.append(escape(line[pos : m.start()]))
        pos = m.end()
        if m.group("code") is not None:
            out.append(escape(m.group("code")))
        elif m.group("url") is not None:
            url, label = m.group("url"), m.group("label")
            if _SAFE_URL.match(url):
                out.append(f"<{escape(url)}|{escape(label).replace('|', '/')}>")
            else:
                # Anything but http(s)/mailto could become "<!channel|x>": show it as text.
                out.append(f"{escape(label)} ({escape(url)})")
        elif m.group("bold") is not None:
            out.append(f"*{_inline(m.group('bold'))}*")
        elif m.group("bold2") is not None:
            out.append(f"*{_inline(m.group('bold2'))}*")
        elif m.group("strike") is not None:
            out.append(f"~{_inline(m.group('strike'))}~")
        else:
            out.append(f"_{_inline(m.group('em'))}_")
    out.append(escape(line[pos:]))
    return "".join(out)


def _strip_emphasis(text: str) -> str:
    """Heading text becomes one bold run, so inner ``**`` would close it early."""
    return text.replace("**", "").replace("__", "")


def from_markdown(md: str) -> str:
    """Convert Markdown (the KB's and the engine's) to Slack mrkdwn, escaping all text.

    ``**b**`` -> ``*b*``, ``*i*`` -> ``_i_``, ``[t](u)`` -> ``<u|t>`` (http, https and
    mailto only), headings -> bold lines, ``-``/``*``/``+`` bullets -> ``•``, numbered
    lists and code spans and fences kept (their content escaped, never reformatted).
    """
    out: list[str] = []
    fence: str | None = None
    for line in md.splitlines():
        fm = _FENCE.match(line)
        if fence is not None:
            if fm and fm.group(1) == fence:
                out.append("```")
                fence = None
            else:
                out.append(escape(line))
            continue
        if fm:
            # Slack has no info strings: "```diff" would print "diff" as the first line.
            fence = fm.group(1)
            out.append("```")
            continue
        if (hm := _HEADING.match(line)) is not None:
            # Closing hashes ("## Title ##") are stripped by hand: a regex for them backtracks.
            title = _strip_emphasis(hm.group(1).rstrip().rstrip("#").rstrip())
            out.append(f"*{_inline(title)}*" if title else "")
            continue
        if _RULE.match(line):
            out.append("")
            continue
        if (bm := _BULLET.match(line)) is not None:
            out.append(f"{bm.group(1)}• {_inline(bm.group(2))}")
            continue
        out.append(_inline(line))
    if fence is not None:
        out.append("```")  # an unclosed fence would swallow whatever Slack shows after it
    return "\n".join(out)


def code_block(text: str) -> str:
    """A fenced block for verbatim text (log lines, commands), escaped.

    A literal triple backtick inside would end the fence early, so it gets zero-width
    spaces between its backticks: it still reads as ``````` but Slack keeps the block.
    """
    body = escape(text.strip("\n")).replace("```", "`\u200b`\u200b`")
    return f"```\n{body}\n```"


def inline_code(text: str) -> str:
    """An inline code span for short verbatim text, escaped; plain text if it holds a backtick."""
    if not text or "`" in text or "\n" in text:
        return escape(text)
    return f"`{escape(text)}`"
