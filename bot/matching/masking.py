"""Reduce a log message to its shape, so that fuzzy matching compares wording, not values.

Numbers, addresses, paths and quoted strings differ in every line of the same kind;
masking them lets a retyped, translated or cut line still land near its template.
Only the text before the ``, client:`` context is kept: the context is the same for
every HTTP error and would make unrelated errors look alike.
"""

from __future__ import annotations

import re

_QUOTED = re.compile(r'"([^"]{0,2048})"')
_PROSE = re.compile(r"[a-z][a-z ,.:_-]{0,59}")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://\S{1,2048}")
_IPV6 = re.compile(r"\[[0-9a-f:]{2,45}\](?::[0-9]{1,20})?")
_IPV4 = re.compile(r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,20})?\b")
_PATH = re.compile(r"(?<![\w/])(?:unix:)?/[\w.@%+~-]{0,255}(?:/[\w.@%+~-]{0,255}){0,64}")
_HEX = re.compile(r"\b(?:0x)?[0-9a-f]{8,}\b")
_NUMBER = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_SPACE_PUNCT = re.compile(r" ?([():#*,;=\[\]]) ?")
r"""Applied after runs of whitespace became one space: ``\s*`` around the class was quadratic on
a long run of blanks (every start re-read the run)."""
_SPACES = re.compile(r"\s+")
_PRINTF = re.compile(r"%(?:[-0-9.*]*)(?:ui|uA|uz|xi|i|d|s|V|O|P|T|z|M|r|p)")


def context_head(message: str) -> str:
    """The message without its ``, client: ...`` context tail."""
    cut = message.find(", client:")
    return message if cut < 0 else message[:cut]


def mask(message: str) -> str:
    """The shape of a message: lower case, values replaced by placeholders, spacing folded."""
    s = context_head(message).lower()
    # Quoted prose ("primary script unknown") is wording and stays; quoted values
    # (paths, hosts, requests) are masked.
    s = _QUOTED.sub(lambda m: m.group(0) if _PROSE.fullmatch(m.group(1)) else '"s"', s)
    s = _URL.sub("url", s)
    s = _IPV6.sub("ip", s)
    s = _IPV4.sub("ip", s)
    s = _PATH.sub("/p", s)
    s = _HEX.sub("h", s)
    s = _NUMBER.sub("0", s)
    s = _SPACES.sub(" ", s)
    return _SPACE_PUNCT.sub(r"\1", s).strip(" .$")


def mask_format(fmt: str) -> str:
    """The shape of an nginx printf-style format string, comparable with ``mask`` output."""
    return mask(_PRINTF.sub("0", fmt))
