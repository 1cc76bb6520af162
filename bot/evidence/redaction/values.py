"""Values that are secrets by their own shape: credentials issued with a known prefix
(``xoxb-``, ``ghp_``, ``sk_live_``, ``AKIA``, JWTs), an ``Authorization`` scheme followed by a
credential, and random-looking tokens (``entropy``).

Each known form keeps its prefix visible (``sk_live_<redacted>``), so the reader still sees
which kind of key was pasted and what to rotate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.evidence.redaction.entropy import random_runs
from bot.evidence.redaction.model import Span
from bot.lazy_re import lazy_compile

AUTH_SCHEMES = frozenset(
    {
        "bearer",
        "basic",
        "digest",
        "token",
        "negotiate",
        "ntlm",
        "apikey",
        "key",
        "aws4-hmac-sha256",
        "hawk",
        "oauth",
        "splunk",
        "sharedaccesssignature",
    }
)
"""``Authorization`` schemes: the word stays, the credential after it is masked."""

TOKEN_FORMS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("slack", lazy_compile(r"\b(?P<head>xox[abposre]-)(?P<value>[A-Za-z0-9-]{8,400})"), ("xox",)),
    ("slack", lazy_compile(r"\b(?P<head>xoxe\.xox[bp]-)(?P<value>[A-Za-z0-9-]{8,400})"), ("xoxe.",)),
    ("slack", lazy_compile(r"\b(?P<head>xapp-)(?P<value>[A-Za-z0-9-]{8,400})"), ("xapp-",)),
    (
        "slack_webhook",
        lazy_compile(r"(?P<head>hooks\.slack\.com/services/)(?P<value>[A-Za-z0-9/]{8,200})"),
        ("hooks.",),
    ),
    ("github", lazy_compile(r"\b(?P<head>gh[pousr]_)(?P<value>[A-Za-z0-9]{20,255})"), ("gh",)),
    ("github", lazy_compile(r"\b(?P<head>github_pat_)(?P<value>[A-Za-z0-9_]{20,255})"), ("github_pat_",)),
    ("gitlab", lazy_compile(r"\b(?P<head>glpat-)(?P<value>[A-Za-z0-9_-]{20,64})"), ("glpat-",)),
    (
        "aws",
        lazy_compile(r"\b(?P<head>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA))(?P<value>[A-Z0-9]{16})\b"),
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
    ),
    (
        "stripe",
        lazy_compile(r"\b(?P<head>(?:sk|rk|pk)_(?:live|test)_)(?P<value>[A-Za-z0-9]{8,247})"),
        ("_live_", "_test_"),
    ),
    ("stripe", lazy_compile(r"\b(?P<head>whsec_)(?P<value>[A-Za-z0-9]{16,128})"), ("whsec_",)),
    ("google", lazy_compile(r"\b(?P<head>AIza)(?P<value>[0-9A-Za-z_-]{35})"), ("AIza",)),
    ("google", lazy_compile(r"\b(?P<head>ya29\.)(?P<value>[0-9A-Za-z_-]{20,2048})"), ("ya29.",)),
    ("sendgrid", lazy_compile(r"\b(?P<head>SG\.)(?P<value>[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64})"), ("SG.",)),
    ("newrelic", lazy_compile(r"\b(?P<head>NR(?:AK|II|JS|AA)-)(?P<value>[A-Za-z0-9]{20,64})"), ("NR",)),
    ("npm", lazy_compile(r"\b(?P<head>npm_)(?P<value>[A-Za-z0-9]{30,64})"), ("npm_",)),
    ("shopify", lazy_compile(r"\b(?P<head>shp(?:at|ss|ca|pa)_)(?P<value>[a-fA-F0-9]{32})"), ("shp",)),
    ("huggingface", lazy_compile(r"\b(?P<head>hf_)(?P<value>[A-Za-z0-9]{30,40})"), ("hf_",)),
    ("digitalocean", lazy_compile(r"\b(?P<head>do[opr]_v1_)(?P<value>[a-f0-9]{64})"), ("_v1_",)),
    ("mailgun", lazy_compile(r"\b(?P<head>key-)(?P<value>[0-9a-z]{32})\b"), ("key-",)),
    (
        "discord_webhook",
        lazy_compile(r"(?P<head>discord(?:app)?\.com/api/webhooks/[0-9]{5,30}/)(?P<value>[A-Za-z0-9_-]{20,200})"),
        ("discord",),
    ),
    (
        "jwt",
        lazy_compile(
            r"\b(?P<head>)(?P<value>eyJ[A-Za-z0-9_-]{5,2048}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,4096})"
        ),
        ("eyJ",),
    ),
    ("bearer", lazy_compile(r"\b(?P<head>[Bb]earer[ \t]{1,8})(?P<value>[A-Za-z0-9._~+/-]{8,4096}=*)"), ("earer",)),
    (
        "basic",
        lazy_compile(r"\b(?P<head>[Bb]asic[ \t]{1,8})(?P<value>[A-Za-z0-9+/]{6,4096}={0,2})(?![A-Za-z0-9+/=])"),
        ("asic",),
    ),
)
"""(provider, pattern, literal hints): a form is only searched when one of its hints occurs."""

_TITLE_WORD = lazy_compile(r"[A-Z]?[a-z]{1,40}")
_ANY_HINT = lazy_compile("|".join(sorted({re.escape(h) for _, _, hints in TOKEN_FORMS for h in hints}, key=len)))
"""One pass that says whether any known form can occur at all (most values and lines: none)."""


def _basic_credential(value: str) -> bool:
    """``Basic dXNlcjpwYXNz``, not ``Basic authentication``: base64 of ``user:password``."""
    return not _TITLE_WORD.fullmatch(value) and len(value.rstrip("=")) >= 6


def token_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[Span]:
    """Spans of every known credential form in ``text[start:end]`` (the value, not its prefix)."""
    stop = len(text) if end is None else end
    if _ANY_HINT.search(text, start, stop) is None:
        return
    window = text[start:stop]
    for provider, pattern, hints in TOKEN_FORMS:
        if not any(h in window for h in hints):
            continue
        for m in pattern.finditer(text, start, stop):
            if provider == "basic" and not _basic_credential(m.group("value")):
                continue
            yield Span(m.start("value"), m.end("value"), "token", provider)


def looks_secret(value: str) -> bool:
    """Whether a value is a secret by its shape alone: a scheme and credential, a known token
    form, or a random-looking run."""
    if not value or value.startswith("$"):
        return False
    scheme, sep, rest = value.partition(" ")
    if sep and scheme.lower() in AUTH_SCHEMES and rest.strip() and not rest.strip().startswith("$"):
        return True
    if next(token_spans(value), None) is not None:
        return True
    return next(random_runs(value), None) is not None
