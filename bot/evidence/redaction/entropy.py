"""Strings that look like generated credentials: long, mixed letters and digits, random.

A secret with no name in front of it (a bare token in an access-log line, a ``map`` key, a
value of some unknown directive) is found by its shape. The test is deliberately strict
about words: ``proxy_next_upstream_timeout``, ``NEW_RELIC_LICENSE_KEY``, paths, hostnames and
sizes are never tokens, so diagnosis and diffs keep the config they need. Hex strings count
from 32 characters (an HMAC key, an API key; also a request id, which nothing needs).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from bot.lazy_re import lazy_compile

MIN_LENGTH = 20
CANDIDATE = lazy_compile(r"[A-Za-z0-9+/_-]{20,4096}={0,2}")
"""A run of base64/base64url/hex characters; dots, colons and ``@`` end it (hostnames, IPs, URLs)."""

_HEX = lazy_compile(r"[0-9a-fA-F]+")
_UUID = lazy_compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WORD_RUN = lazy_compile(r"[a-z]{4,}|[A-Z][a-z]{3,}|[A-Z]{4,}(?![a-z])")
_HAS_DIGIT = lazy_compile(r"[0-9]")
_HAS_ALPHA = lazy_compile(r"[A-Za-z]")
_SHORT_PARTS = lazy_compile(r"[A-Za-z0-9]{1,10}(?:[-_][A-Za-z0-9]{1,10})+")
"""``web-7d9c8b6f5d-x2k9p``, ``x86_64-linux-gnu``, ``ECDHE-ECDSA-AES128-GCM-SHA256``: generated
names, ids and cipher suites, not credentials (a token's random part is longer than 10)."""

WORDY_SHARE = 0.4
"""Runs where words (4+ letters) cover this share or more are names, not tokens."""
MIN_ENTROPY = 3.5
"""Bits per character for mixed-case or symbol-bearing runs (random base62 of 20 chars: ~4.1)."""
MIN_HEX_ENTROPY = 3.0
MIN_HEX_LENGTH = 32


def shannon(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    n = len(text)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _wordy(run: str) -> bool:
    words = sum(len(m.group(0)) for m in _WORD_RUN.finditer(run))
    return words >= WORDY_SHARE * len(run)


_PATH_SEGMENT = lazy_compile(r"[a-z0-9_.-]{0,40}|.{0,8}")


def _path_like(core: str) -> bool:
    """``src/http/v2/ngx_http_v2``, ``p0pr0ck5/lua-resty-waf``, ``2024/12/05/ending-ocsp``: paths,
    whose segments are lower-case names or short; base64 with ``/`` mixes cases throughout."""
    return "/" in core and all(_PATH_SEGMENT.fullmatch(seg) for seg in core.split("/"))


def looks_random(run: str) -> bool:
    """Whether a run of token characters is a generated credential rather than a word, path or id."""
    core = run.rstrip("=")
    if len(core) < MIN_LENGTH or core.startswith("/"):
        return False
    if not _HAS_DIGIT.search(core) or not _HAS_ALPHA.search(core):
        return False
    if _UUID.fullmatch(core) or _SHORT_PARTS.fullmatch(core) or _path_like(core):
        return False  # request and trace ids; a UUID used as a key is caught by its name
    if _HEX.fullmatch(core):
        return len(core) >= MIN_HEX_LENGTH and shannon(core) >= MIN_HEX_ENTROPY
    if _wordy(core):
        return False
    return shannon(core) >= MIN_ENTROPY


def random_runs(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of every token-looking run in ``text[start:end]``."""
    for m in CANDIDATE.finditer(text, start, len(text) if end is None else end):
        if m.start() > 0 and text[m.start() - 1] in "$\\%":
            continue  # an nginx variable, an escape, a percent-encoded byte
        if looks_random(m.group(0)):
            yield m.start(), m.end()
