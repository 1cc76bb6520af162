"""Secrets nginx configuration holds, found by what the directives mean.

Each rule reads one kind of statement from ``nginx_lexer`` and reports the spans of its
secret values: a header set by name (``proxy_set_header Cookie``, ``add_header Set-Cookie``,
``more_set_headers "X-Api-Key: ..."``, ``fastcgi_param HTTP_AUTHORIZATION``), an ``env``
value, a ``set``/``js_var`` value whose variable or content is secret, ``map`` keys on a
secret request header and values of a secret variable, the right side of ``if
($http_x_api_key != ...)``, ``secure_link_md5``'s secret, ``auth_jwt_key*`` values, string
literals in ``perl_set`` code, inline ``data:`` keys. nginx variables are never secrets (they
are filled per request), so only the literal parts of a value are masked; the scheme of an
``Authorization`` value and the attributes of a ``Set-Cookie`` stay readable.

The files named by key-file directives (``ssl_password_file``, ``auth_basic_user_file``,
``ssl_certificate_key`` ...) are collected too: their contents, pasted later in the same
text, are masked whole (``key_material``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.evidence.redaction import names
from bot.evidence.redaction.model import REDACTED, Span
from bot.evidence.redaction.nginx_lexer import Statement, Token, statements
from bot.evidence.redaction.values import AUTH_SCHEMES, looks_secret
from bot.lazy_re import lazy_compile

_VARIABLE = lazy_compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]{0,127}\}|[A-Za-z_][A-Za-z0-9_]{0,127}|[0-9])")
_HAS_ALNUM = lazy_compile(r"[A-Za-z0-9]")
_TRIVIAL = lazy_compile(r"(?i)(?:on|off|true|false|yes|no|none|null|-|[0-9]{1,3})")
_DURATION_OR_SIZE = lazy_compile(r"[0-9]{1,9}(?:ms|[smhdwMyKkGg])?")
_PATH = lazy_compile(r"[/~.][^\s]{0,4095}")
_STRING_LITERAL = lazy_compile(r""""(?:[^"\\\n]|\\.){0,4096}"|'(?:[^'\\\n]|\\.){0,4096}'""", re.DOTALL)
# A pair starts only after a separator: starting inside a 256-character name re-read it.
_COOKIE_VALUE = lazy_compile(r"(?<![^=;,\s])[^=;,\s]{1,256}[ \t]{0,4}=[ \t]{0,4}(?P<value>[^;,]{1,4096})")

HEADER_DIRECTIVES = frozenset({"proxy_set_header", "grpc_set_header", "add_header", "add_trailer", "auth_http_header"})
PARAM_DIRECTIVES = frozenset({"fastcgi_param", "uwsgi_param", "scgi_param"})
MORE_HEADERS = frozenset({"more_set_headers", "more_set_input_headers"})
SET_DIRECTIVES = frozenset({"set", "js_var"})
KEY_FILE_DIRECTIVES = frozenset(
    {
        "ssl_password_file",
        "proxy_ssl_password_file",
        "grpc_ssl_password_file",
        "uwsgi_ssl_password_file",
        "zone_sync_ssl_password_file",
        "auth_basic_user_file",
        "auth_digest_user_file",
        "ssl_certificate_key",
        "proxy_ssl_certificate_key",
        "grpc_ssl_certificate_key",
        "uwsgi_ssl_certificate_key",
        "zone_sync_ssl_certificate_key",
        "auth_jwt_key_file",
        "ssl_session_ticket_key",
    }
)
"""Directives naming a file whose contents are a key, a password or password hashes."""
MAP_DIRECTIVES = frozenset({"default", "hostnames", "include", "volatile"})


@dataclass
class ConfigFindings:
    """Spans of secret values, and the key files the configuration names."""

    spans: list[Span] = field(default_factory=list)
    key_files: set[str] = field(default_factory=set)


# -- masking parts of one token --------------------------------------------------------------------------


def literal_pieces(text: str, token: Token) -> Iterator[tuple[int, int]]:
    """(start, end) of each literal part of a value between nginx variables, trimmed, with a letter or digit."""
    start, end = token.inner_start, token.inner_end
    pos = start
    for m in _VARIABLE.finditer(text, start, end):
        yield from _trimmed(text, pos, m.start())
        pos = m.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start] in " \t\r\n":
        start += 1
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    piece = text[start:end]
    if end > start and _HAS_ALNUM.search(piece) and piece != REDACTED:
        yield start, end


def _authorization(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Keep the scheme word (``Basic``, ``Bearer``), mask the credential after it."""
    scheme, sep, _ = text[start:end].partition(" ")
    if sep and scheme.lower() in AUTH_SCHEMES:
        skip = len(scheme) + 1
        while start + skip < end and text[start + skip] == " ":
            skip += 1
        if start + skip < end:
            yield start + skip, end
        return
    if text[start:end].lower() not in AUTH_SCHEMES:
        yield start, end


def _cookies(text: str, start: int, end: int, first_only: bool) -> Iterator[tuple[int, int]]:
    """The values of ``name=value`` pairs (only the first pair's for ``Set-Cookie``: the rest are attributes)."""
    found = False
    for m in _COOKIE_VALUE.finditer(text[start:end]):  # a slice: the pattern's look-behind sees its start
        found = True
        yield from _trimmed(text, start + m.start("value"), start + m.end("value"))
        if first_only:
            return
    if not found:
        yield start, end


def header_value_spans(text: str, token: Token, header: str, kind: str, name: str) -> Iterator[Span]:
    """Spans of a secret header's value: its literal parts, with the scheme or cookie names kept."""
    style = names.cookie_style(header)
    for start, end in literal_pieces(text, token):
        if names.is_authorization(header):
            pieces: Iterator[tuple[int, int]] = _authorization(text, start, end)
        elif style is not None:
            pieces = _cookies(text, start, end, first_only=style == "set-cookie")
        else:
            pieces = iter([(start, end)])
        for s, e in pieces:
            yield Span(s, e, kind, name)


def value_spans(text: str, token: Token, kind: str, name: str, *, trivial_ok: bool = True) -> Iterator[Span]:
    """Spans of the literal parts of a secret value; ``on``, ``1`` and the like stay when ``trivial_ok``."""
    value = token.value(text)
    if trivial_ok and (not value or _TRIVIAL.fullmatch(value)):
        return
    for start, end in literal_pieces(text, token):
        yield Span(start, end, kind, name)


# -- the rules, one per kind of statement ----------------------------------------------------------------


def _header(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) < 3:
        return
    header = st.tokens[1].value(text)
    if names.is_secret_header(header):
        out.spans.extend(header_value_spans(text, st.tokens[2], header, "header", header))


def _param(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) < 3:
        return
    param = st.tokens[1].value(text)
    upper = param.upper()
    if upper.startswith("HTTP_") and names.is_secret_header(param[5:].replace("_", "-")):
        out.spans.extend(header_value_spans(text, st.tokens[2], param[5:].replace("_", "-"), "header", param))
    elif names.is_secret_env_name(param) or looks_secret(st.tokens[2].value(text)):
        out.spans.extend(value_spans(text, st.tokens[2], "env", param))


def _more_headers(text: str, st: Statement, out: ConfigFindings) -> None:
    args = st.tokens[1:]
    i = 0
    while i < len(args):
        value = args[i].value(text)
        if value in ("-s", "-t", "-r"):
            i += 2
            continue
        header, sep, _ = value.partition(":")
        if sep and names.is_secret_header(header.strip()):
            colon = args[i].inner_start + len(header) + 1
            part = Token(colon, args[i].inner_end)
            out.spans.extend(header_value_spans(text, part, header.strip(), "header", header.strip()))
        i += 1


def _env(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) < 2:
        return
    token = st.tokens[1]
    name, sep, value = token.value(text).partition("=")
    if sep and value and (names.is_secret_env_name(name) or looks_secret(value)):
        start = token.inner_start + len(name) + 1
        out.spans.extend(value_spans(text, Token(start, token.inner_end), "env", name, trivial_ok=False))


def _set(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) < 3:
        return
    var = st.tokens[1].value(text)
    value = st.tokens[2].value(text)
    if names.is_secret_variable(var):
        out.spans.extend(value_spans(text, st.tokens[2], "variable", var))
    elif looks_secret(value):
        out.spans.extend(value_spans(text, st.tokens[2], "variable", var, trivial_ok=False))


def _perl_set(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) < 3:
        return
    code = st.tokens[2]
    if "sub" not in code.value(text):
        return  # Module::handler: a name, not code
    for m in _STRING_LITERAL.finditer(text, code.inner_start, code.inner_end):
        out.spans.extend(_trimmed_spans(text, m.start() + 1, m.end() - 1, "code", "perl_set"))


def _trimmed_spans(text: str, start: int, end: int, kind: str, name: str) -> Iterator[Span]:
    for s, e in _trimmed(text, start, end):
        yield Span(s, e, kind, name)


def _secure_link_md5(text: str, st: Statement, out: ConfigFindings) -> None:
    for token in st.tokens[1:2]:
        out.spans.extend(value_spans(text, token, "directive", st.name(text), trivial_ok=False))


def _secret_directive(text: str, st: Statement, out: ConfigFindings) -> None:
    """A directive whose name says its value is a secret: mask literal values that are not paths or times."""
    name = st.name(text)
    for token in st.tokens[1:]:
        value = token.value(text)
        if _PATH.fullmatch(value) or _DURATION_OR_SIZE.fullmatch(value) or _TRIVIAL.fullmatch(value):
            continue
        if value.lower() in ("hex", "base64", "base64url", "utf8", "jwk", "file", "text"):
            continue  # the encoding of the value before it
        out.spans.extend(value_spans(text, token, "directive", name, trivial_ok=False))


def _redis_query(text: str, st: Statement, out: ConfigFindings) -> None:
    if len(st.tokens) >= 3 and st.tokens[1].value(text).lower() == "auth":
        for token in st.tokens[2:]:
            out.spans.extend(value_spans(text, token, "directive", st.name(text), trivial_ok=False))


def _key_file(text: str, st: Statement, out: ConfigFindings) -> None:
    for token in st.tokens[1:2]:
        value = token.value(text)
        if value.startswith("data:"):
            out.spans.extend(value_spans(text, Token(token.inner_start + 5, token.inner_end), "private_key", ""))
        elif value and not value.startswith(("$", "engine:", "store:")):
            out.key_files.add(value)


def _if(text: str, st: Statement, out: ConfigFindings) -> None:
    args = st.tokens[1:]
    if len(args) < 3:
        return
    var = args[0].value(text).lstrip("(").strip()
    if args[1].value(text) not in ("=", "!=", "~", "~*", "!~", "!~*"):
        return
    value = args[2]
    raw = text[value.start : value.end]
    if not value.quote and raw.endswith(")"):
        value = Token(value.start, value.end - 1)
    if names.is_secret_variable(var) or looks_secret(value.value(text)):
        out.spans.extend(value_spans(text, value, "condition", var, trivial_ok=False))


def _map_entry(text: str, st: Statement, block: Statement, out: ConfigFindings) -> None:
    if len(block.tokens) < 3:
        return
    source, target = block.tokens[1].value(text), block.tokens[2].value(text)
    key = st.tokens[0]
    if names.is_secret_variable(source) and key.value(text) not in MAP_DIRECTIVES:
        raw = key.value(text)
        skip = 2 if raw.startswith("~*") else 1 if raw.startswith(("~", "\\")) else 0
        out.spans.extend(value_spans(text, Token(key.inner_start + skip, key.inner_end), "map_key", source))
    if len(st.tokens) >= 2 and key.value(text) not in ("hostnames", "include", "volatile"):
        if names.is_secret_variable(target):
            out.spans.extend(value_spans(text, st.tokens[1], "variable", target))
        elif looks_secret(st.tokens[1].value(text)):
            out.spans.extend(value_spans(text, st.tokens[1], "variable", target, trivial_ok=False))


_Rule = Callable[[str, Statement, ConfigFindings], None]
RULES: dict[str, _Rule] = {
    **dict.fromkeys(HEADER_DIRECTIVES, _header),
    **dict.fromkeys(PARAM_DIRECTIVES, _param),
    **dict.fromkeys(MORE_HEADERS, _more_headers),
    **dict.fromkeys(SET_DIRECTIVES, _set),
    **dict.fromkeys(KEY_FILE_DIRECTIVES, _key_file),
    "env": _env,
    "perl_set": _perl_set,
    "secure_link_md5": _secure_link_md5,
    "if": _if,
    "redis2_query": _redis_query,
    "redis2_raw_query": _redis_query,
}
"""Directive name -> the rule that reads its secret values."""


def _generic_secret(name: str) -> bool:
    """A directive not in ``RULES`` whose name says it holds a secret (``secure_link_secret``,
    ``auth_jwt_key``, ``encrypted_session_key``, ``aws_secret_key``)."""
    if name.startswith("auth_jwt"):
        return name.startswith("auth_jwt_key")
    if "_pass_" in name or name.endswith("_pass") or name in names.NGINX_NOT_SECRET:
        return False
    return names.is_secret_key(name)


def config_spans(text: str) -> ConfigFindings:
    """Every secret value the configuration statements in ``text`` hold, and the key files they name."""
    out = ConfigFindings()
    for st in statements(text):
        parent = st.parent
        if parent is not None and parent.name(text) == "map":
            _map_entry(text, st, parent, out)
            continue
        name = st.name(text)
        rule = RULES.get(name)
        if rule is not None:
            rule(text, st, out)
        elif _generic_secret(name):
            _secret_directive(text, st, out)
    return out
