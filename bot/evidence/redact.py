"""Mask secrets in pasted config and logs before anything is stored, diagnosed or echoed.

People paste whole ``nginx -T`` dumps and curl sessions into a shared channel: they carry
``proxy_set_header Authorization "Bearer ..."``, database passwords in ``env`` lines,
signed URLs and tokens. Only the secret value is replaced with ``<redacted>``; quotes,
``;``, the key and the line count stay, so the redacted dump still parses to the same
directives on the same lines and every file:line the diagnosis names stays right.

Every pattern has bounded repetition and no nested quantifiers, so redacting a hostile
multi-megabyte paste stays linear. Redacting twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

REDACTED = "<redacted>"

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "credential",
        "credentials",
        "signature",
        "sig",
    }
)
"""Key components that mark a value as secret (``DB_PASSWORD``, ``X-Auth-Token``, ``clientSecret``)."""

_KEY_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("app", "key"),
    }
)
"""Two components that make a secret together: ``api_key`` is one, ``proxy_cache_key`` is not."""

_NGINX_PASS_DIRECTIVES = frozenset(
    {"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"}
)
"""``pass`` alone marks a password (``DB_PASS``), but these are upstream addresses."""

_QUERY_KEYS = frozenset(
    {
        "key",
        "code",
        "auth",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "api_key",
        "apikey",
    }
)
"""Query parameters that are secret in a request line even though the generic rule would not say so."""

_AUTH_SCHEMES = frozenset(
    {"bearer", "basic", "digest", "token", "negotiate", "ntlm", "apikey", "key", "aws4-hmac-sha256", "hawk", "oauth"}
)

_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def _components(key: str) -> list[str]:
    return [part.lower() for part in _SPLIT.split(key) if part]


def is_secret_key(key: str) -> bool:
    """Whether a key, header or variable name names a secret value."""
    parts = _components(key)
    if not parts:
        return False
    if key.lower() in _NGINX_PASS_DIRECTIVES:
        return False
    if "pass" in parts:
        return True
    if any(p in _SECRET_WORDS for p in parts):
        return True
    return any(pair in _KEY_PAIRS for pair in pairwise(parts))


def _is_authorization(name: str) -> bool:
    lowered = name.lower().replace("_", "-")
    return lowered in ("authorization", "proxy-authorization", "http-authorization", "http-proxy-authorization")


@dataclass
class _Counter:
    masked: int = 0


def _mask_credential(value: str, counter: _Counter) -> str:
    """An Authorization value: keep the scheme (``Bearer``), mask the credential after it."""
    scheme, sep, rest = value.partition(" ")
    if sep and scheme.lower() in _AUTH_SCHEMES:
        stripped = rest.lstrip(" ")
        if not stripped or stripped.startswith(("$", REDACTED)):
            return value
        counter.masked += 1
        return f"{scheme}{sep}{rest[: len(rest) - len(stripped)]}{REDACTED}"
    if not value or value.startswith(("$", REDACTED)) or value.lower() in _AUTH_SCHEMES:
        return value  # a variable passes the client's header through; nothing secret in the config
    counter.masked += 1
    return REDACTED


def _mask_value(value: str, counter: _Counter) -> str:
    """A whole secret value; nginx variables (``$http_x_token``) and masks stay."""
    if not value or value.startswith(("$", REDACTED)):
        return value
    counter.masked += 1
    return REDACTED


def _mask_quoted(token: str, counter: _Counter, mask: Callable[[str, _Counter], str]) -> str:
    """Apply ``mask`` to the inside of a quoted token, or to a bare one."""
    if len(token) >= 2 and token[0] in "\"'" and token[-1] == token[0]:
        return token[0] + mask(token[1:-1], counter) + token[0]
    return mask(token, counter)


# --- patterns ----------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----")

_QUOTED_OR_BARE = r"(?:\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s;\"']{1,4096})"

_HEADER_DIRECTIVE = re.compile(
    r"\b(?P<head>(?:proxy_set_header|grpc_set_header|add_header|add_trailer|fastcgi_param|uwsgi_param|scgi_param"
    r"|proxy_hide_header|more_set_input_headers|more_set_headers|set_header)[ \t]{1,64})"
    r"(?P<nq>[\"']?)(?P<name>[A-Za-z0-9_-]{1,128})(?P=nq)(?P<gap>[ \t]{1,64})"
    r"(?P<value>" + _QUOTED_OR_BARE + ")"
)

_AUTH_LINE = re.compile(
    r"(?i)\b(?P<name>(?:proxy-)?authorization)(?P<sep>[ \t]{0,8}[:=][ \t]{0,8})"
    r"(?P<value>(?:[A-Za-z0-9-]{1,20}[ \t]{1,8})?[^\s\"',;]{1,4096})"
)

_SET_VARIABLE = re.compile(
    r"\b(?P<head>set[ \t]{1,64}\$(?P<name>[A-Za-z0-9_]{1,128})[ \t]{1,64})(?P<value>" + _QUOTED_OR_BARE + ")"
)

_SECRET_DIRECTIVE = re.compile(
    r"\b(?P<head>(?:secure_link_secret|auth_jwt_key|auth_basic_password)[ \t]{1,64})(?P<value>" + _QUOTED_OR_BARE + ")"
)

_QUERY_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z0-9_.-]{1,64})=)(?P<value>[^&\s\"'#;]{1,4096})")

_KEY_VALUE = re.compile(
    r"(?P<kq>[\"']?)(?P<name>\b[A-Za-z_][A-Za-z0-9_.-]{0,63})(?P=kq)"
    r"(?P<sep>[ \t]{0,8}[=:][ \t]{0,8})"
    r"(?P<value>\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"'&;,]{1,4096})"
)

_URL_CREDENTIALS = re.compile(
    r"\b(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s:/@\"'<>]{0,256}:)(?P<value>[^\s/@\"'<>]{1,1024})(?=@)"
)

_TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?P<head>xox[abposre]-)(?P<value>[A-Za-z0-9-]{8,400})"),
    re.compile(r"\b(?P<head>xoxe\.xox[bp]-)(?P<value>[A-Za-z0-9-]{8,400})"),
    re.compile(r"\b(?P<head>xapp-)(?P<value>[A-Za-z0-9-]{8,400})"),
    re.compile(r"\b(?P<head>gh[pousr]_)(?P<value>[A-Za-z0-9]{20,255})"),
    re.compile(r"\b(?P<head>github_pat_)(?P<value>[A-Za-z0-9_]{20,255})"),
    re.compile(r"\b(?P<head>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA))(?P<value>[A-Z0-9]{16})\b"),
    re.compile(r"\b(?P<head>)(?P<value>eyJ[A-Za-z0-9_-]{5,2048}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,4096})"),
    re.compile(r"\b(?P<head>Bearer[ \t]{1,8})(?P<value>[A-Za-z0-9._~+/-]{8,4096}=*)"),
    re.compile(r"(?P<head>hooks\.slack\.com/services/)(?P<value>[A-Za-z0-9/]{8,200})"),
)


# --- rules -------------------------------------------------------------------------------


def _pem_blocks(text: str, counter: _Counter) -> str:
    """Private keys: mask every line between BEGIN and END (to the end when END is missing)."""
    if "PRIVATE KEY" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        begin = _PEM_BEGIN.search(text, pos)
        if begin is None:
            break
        end = _PEM_END.search(text, begin.end())
        body_end = end.start() if end else len(text)
        body = text[begin.end() : body_end]
        out.append(text[pos : begin.end()])
        lines = body.split("\n")
        masked = [line if not line.strip() or line.strip() == REDACTED else REDACTED for line in lines]
        if masked != lines:
            counter.masked += 1
        out.append("\n".join(masked))
        if end is None:
            pos = len(text)
            break
        out.append(end.group(0))
        pos = end.end()
    out.append(text[pos:])
    return "".join(out)


def _header_directive(m: re.Match[str], counter: _Counter) -> str:
    name = m.group("name")
    value = m.group("value")
    if _is_authorization(name):
        value = _mask_quoted(value, counter, _mask_credential)
    elif is_secret_key(name) and not m.group("head").startswith("proxy_hide_header"):
        value = _mask_quoted(value, counter, _mask_value)
    return f"{m.group('head')}{m.group('nq')}{name}{m.group('nq')}{m.group('gap')}{value}"


def _auth_line(m: re.Match[str], counter: _Counter) -> str:
    return f"{m.group('name')}{m.group('sep')}{_mask_credential(m.group('value'), counter)}"


def _set_variable(m: re.Match[str], counter: _Counter) -> str:
    value = m.group("value")
    if is_secret_key(m.group("name")):
        value = _mask_quoted(value, counter, _mask_value)
    return m.group("head") + value


def _secret_directive(m: re.Match[str], counter: _Counter) -> str:
    return m.group("head") + _mask_quoted(m.group("value"), counter, _mask_value)


def _query_param(m: re.Match[str], counter: _Counter) -> str:
    name = m.group("name")
    if name.lower() in _QUERY_KEYS or is_secret_key(name):
        return m.group("head") + _mask_value(m.group("value"), counter)
    return m.group(0)


def _key_value(m: re.Match[str], counter: _Counter) -> str:
    name = m.group("name")
    value = m.group("value")
    kq = m.group("kq")
    if _is_authorization(name):
        return f"{kq}{name}{kq}{m.group('sep')}{_mask_quoted(value, counter, _mask_credential)}"
    if not is_secret_key(name):
        return m.group(0)
    if m.group("sep").strip() == ":" and value.startswith(("//", "/")):
        return m.group(0)  # "token: /path" or a URL scheme: handled by the URL rule, not a secret value
    return f"{kq}{name}{kq}{m.group('sep')}{_mask_quoted(value, counter, _mask_value)}"


def _head_value(m: re.Match[str], counter: _Counter) -> str:
    return m.group("head") + _mask_value(m.group("value"), counter)


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], _Counter], str], tuple[str, ...]]

_TOKEN_HINTS: tuple[tuple[str, ...], ...] = (
    ("xox",),
    ("xoxe.",),
    ("xapp-",),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ("github_pat_",),
    ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
    ("eyJ",),
    ("Bearer",),
    ("hooks.slack.com",),
)
assert len(_TOKEN_HINTS) == len(_TOKEN_PATTERNS)

# Lower-case hints are looked for in the lower-cased text (key names are case-insensitive).
_SECRET_NAME_HINTS = ("pass", "pwd", "secret", "token", "key", "credential", "sig")

_RULES: tuple[_Rule, ...] = (
    (_HEADER_DIRECTIVE, _header_directive, ("header", "_param", "trailer")),
    (_AUTH_LINE, _auth_line, ("uthorization", "UTHORIZATION")),
    (_SET_VARIABLE, _set_variable, ("set ", "set\t")),
    (_SECRET_DIRECTIVE, _secret_directive, ("secure_link_secret", "auth_jwt_key", "auth_basic_password")),
    *((p, _head_value, hints) for p, hints in zip(_TOKEN_PATTERNS, _TOKEN_HINTS, strict=True)),
    (_URL_CREDENTIALS, _head_value, ("@",)),
    (_QUERY_PARAM, _query_param, ("=",)),
    (_KEY_VALUE, _key_value, _SECRET_NAME_HINTS),
)
"""Most specific first: a header directive keeps its scheme before the generic rules see it.
The literal hints let a rule skip texts that cannot contain its pattern (most pastes)."""


def _bound(replace: Callable[[re.Match[str], _Counter], str], counter: _Counter) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        return replace(m, counter)

    return sub


def redact(text: str) -> tuple[str, int]:
    """(text with every secret value replaced by ``<redacted>``, number of secrets masked)."""
    counter = _Counter()
    text = _pem_blocks(text, counter)
    lowered = text.lower()
    for pattern, replace, hints in _RULES:
        if hints and not any(h in text or (h.islower() and h in lowered) for h in hints):
            continue
        text = pattern.sub(_bound(replace, counter), text)
    return text, counter.masked
