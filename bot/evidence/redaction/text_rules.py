"""Secrets in any text, found by their words and shapes: header lines (``Cookie: ...``,
``curl -H 'X-Api-Key: ...'``), ``name=value`` and ``name: value`` settings (``DB_PASSWORD=``,
``"client_secret": ...``), secret query parameters in request lines and URLs, userinfo in
URLs (up to the last ``@``: passwords may hold one), known token forms, PKCS#11 PINs in
engine URIs, string literals passed to auth/HMAC/header calls in Lua and njs, private JWK
members, htpasswd hashes and random-looking tokens.

These run over the whole paste, configuration included: a log line, a curl session or a
Lua file is no nginx statement, and a directive the lexer skipped is still text. Every
pattern is bounded and free of nested quantifiers, and each rule is skipped outright when
its literal hints do not occur, so a hostile paste stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bot.evidence.redaction import names
from bot.evidence.redaction.config_rules import header_value_spans
from bot.evidence.redaction.entropy import looks_random, random_runs
from bot.evidence.redaction.model import REDACTED, Span
from bot.evidence.redaction.nginx_lexer import Token
from bot.evidence.redaction.values import token_spans
from bot.lazy_re import lazy_compile

_HEADER_DIRECTIVE = lazy_compile(
    r"\b(?:proxy_set_header|grpc_set_header|add_header|add_trailer|auth_http_header)[ \t]{1,64}"
    r"(?P<nq>[\"']?)(?P<name>[A-Za-z0-9_-]{1,128})(?P=nq)[ \t]{1,64}"
    r"(?P<value>\"(?:[^\"\\\n]|\\.){0,4096}\"|'(?:[^'\\\n]|\\.){0,4096}'|[^\s;\"']{1,4096})"
)
_HEADER_LINE = lazy_compile(
    r"(?P<nq>[\"']?)(?P<name>\b[A-Za-z][A-Za-z0-9_-]{0,63})(?P=nq)[ \t]{0,8}[:=][ \t]{0,8}"
    r"(?P<vq>[\"']?)(?P<value>[^\r\n\"']{1,4096})"
)
_SETTING = lazy_compile(
    r"(?<![$\w.-])(?P<kq>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,63})(?P=kq)(?P<sep>[ \t]{0,8}[=:][ \t]{0,8})"
    r"(?P<value>\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"'&;,]{1,4096})"
)
_QUERY = lazy_compile(r"[?&;](?P<name>[A-Za-z0-9_.\-\[\]]{1,64})=(?P<value>[^&\s\"'#;<>|]{1,4096})")
_USERINFO = lazy_compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,20}://(?P<auth>[^\s/?#\"'<>|\\]{1,512})@")
_PIN = lazy_compile(r"(?i)\bpin-value=(?P<value>[^;\"'\s&<>]{1,256})")
_CALL = lazy_compile(
    r"\b(?P<fn>auth|hmac\w{0,16}|createHmac|set_?[Hh]eader|encode_base64|btoa|sign|jwt_sign|new)[ \t]{0,4}\("
)
_CALL_ARGS = lazy_compile(
    r"""[ \t\r\n,]{1,64}|(?P<lit>"(?:[^"\\\n]|\\.){0,1024}"|'(?:[^'\\\n]|\\.){0,1024}'|\[\[[^\]\n]{0,1024}\]\])"""
    r"""|(?P<open>\()|(?P<close>\))|(?P<other>[^"'()\[,]{1,256}|\[)"""
)
MAX_CALL_TOKENS = 16
"""Argument pieces read per call: a key is among the first arguments; nested calls are not followed far."""
_ALGORITHM = lazy_compile(r"(?i)sha-?[0-9]{0,3}|md5|hex|base64(?:url)?|[hrep]s[0-9]{3}|binary|utf-?8|latin1|raw")
_HEADER_TABLE = lazy_compile(
    r"\b(?:header|headers|headersOut|headersIn|headers_out|headers_in)[ \t]{0,4}"
    r"(?:\[[ \t]{0,4}(?P<q>[\"'])(?P<name>[\w-]{1,64})(?P=q)[ \t]{0,4}\]|\.(?P<attr>\w{1,64}))[ \t]{0,4}=[ \t]{0,4}"
    r"(?P<value>\"(?:[^\"\\\n]|\\.){0,4096}\"|'(?:[^'\\\n]|\\.){0,4096}')"
)
_JWK_MEMBER = lazy_compile(r"\"(?:d|p|q|dp|dq|qi|k|oth)\"[ \t\r\n]{0,16}:[ \t\r\n]{0,16}\"(?P<value>[^\"]{1,16384})\"")
_HTPASSWD = lazy_compile(
    r"^[ \t]{0,16}(?P<user>[^\s:#]{1,64}):(?P<hash>(?:\$(?:apr1|2[abxy]?|[156]|y|argon2(?:id|i|d)?)\$|"
    r"\{(?:SHA|SSHA|SHA256|SHA512|PLAIN|CRYPT)\})[^\s:]{1,512})(?::[^\n]{0,256})?$",
    re.MULTILINE,
)
_HTPASSWD_DES = lazy_compile(r"^(?P<user>[A-Za-z0-9._-]{1,64}):(?P<hash>[./0-9A-Za-z]{13})$", re.MULTILINE)
_DES_MIXED = lazy_compile(r"\A(?=.*[0-9./])(?=.*[A-Za-z])")
_CODE_VALUE = lazy_compile(r"[^(]{0,256}\(.{0,4096}|[A-Za-z_]\w{0,63}(?:[.:][A-Za-z_]\w{0,63}){1,8}")
"""An unquoted value that is code, not a secret: a call (``ngx.hmac_sha1(``) or a reference
(``ngx.var.token``, ``process.env.SECRET``); the string literals passed to it are read on their own."""
_NOT_A_VALUE = lazy_compile(r"/|[0-9]{1,7}[),]|[A-Za-z]{1,40}[ \t]{1,4}[A-Za-z]{2}")
"""After ``name:``: a path or URL, a line number (``jwt.js:7)``) or words of a sentence."""
PKCS11_ATTRIBUTES = frozenset({"token", "object", "id", "type", "manufacturer", "model", "serial", "slot-id"})
CODE_WORDS = frozenset({"require", "function", "nil", "null", "undefined", "new", "local", "return", "await", "not"})


def _token_for(m: re.Match[str], group: str) -> Token:
    value = m.group(group)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return Token(m.start(group), m.end(group), quote)


def _header_directives(text: str) -> Iterator[Span]:
    for m in _HEADER_DIRECTIVE.finditer(text):
        header = m.group("name")
        if names.is_secret_header(header):
            yield from header_value_spans(text, _token_for(m, "value"), header, "header", header)


_SECRET_WORD = lazy_compile(
    rb"p(?:ass|wd|in|rivate)|secret|token|key|auth|cookie|sig|hmac|jwt|cred|licen|dsn|sess|salt|assertion"
)
"""A part of every name the header and setting rules can accept: they only look where one occurs.
Searched in a lower-cased UTF-8 copy: case-insensitive alternations are many times slower in ``re``,
``bytes.lower`` folds ASCII letters only (never the Kelvin sign to ``k``), and the words are ASCII, so
a match never starts inside a multi-byte character."""
_NAME_TAIL = lazy_compile(r"[A-Za-z0-9_.-]*")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
MAX_NAME = 64


def _secret_words(text: str) -> Iterator[tuple[int, int]]:
    """Where ``_SECRET_WORD`` occurs in ``text``, ASCII letters in any case, as character offsets.

    One C-level lower-casing and search over the UTF-8 bytes (a ``str.translate`` table was most of
    a big paste's redaction time); byte offsets become character offsets by decoding only the
    stretch between two hits, so the whole text is decoded at most once.
    """
    if text.isascii():
        for m in _SECRET_WORD.finditer(text.lower().encode("ascii")):
            yield m.span()
        return
    data = text.encode("utf-8", "surrogatepass").lower()
    at_byte = at_char = 0
    for m in _SECRET_WORD.finditer(data):
        start, end = m.span()
        at_char += len(data[at_byte:start].decode("utf-8", "surrogatepass"))
        at_byte = start
        yield at_char, at_char + (end - start)


def _name_starts(text: str) -> Iterator[int]:
    """Where each name holding a secret word starts (its opening quote, when quoted), once per name.

    Most text holds no such word: one C-level search finds the few places worth a regex.
    """
    word_end = -1
    for word_start, word_stop in _secret_words(text):
        if word_start < word_end:
            continue  # the same name again
        start = word_start
        while start > 0 and text[start - 1] in _NAME_CHARS and word_start - start < MAX_NAME:
            start -= 1
        tail = _NAME_TAIL.match(text, word_stop)
        word_end = tail.end() if tail else word_stop
        if start > 0 and text[start - 1] in "\"'":
            yield start - 1  # a quoted name (``"password": ...``); the unquoted form is tried too
        yield start


def _matches_at_names(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern`` matched where names holding a secret word start, never inside an earlier match
    (as ``finditer`` would: a value is not read again as names, which keeps this linear)."""
    done = 0
    for start in _name_starts(text):
        if start < done:
            continue
        m = pattern.match(text, start)
        if m is not None:
            done = m.end()
            yield m


def _header_lines(text: str) -> Iterator[Span]:
    for m in _matches_at_names(_HEADER_LINE, text):
        header = m.group("name")
        if "-" not in header and header.lower() not in names.SECRET_HEADERS:
            continue  # a bare word (``token: ...``) is a setting, read by ``_settings``
        if not names.is_secret_header(header):
            continue
        end = m.end("value")
        while end > m.start("value") and text[end - 1] in " \t;,":
            end -= 1
        yield from header_value_spans(text, Token(m.start("value"), end), header, "header", header)


def _settings(text: str) -> Iterator[Span]:
    for m in _matches_at_names(_SETTING, text):
        name = m.group("name")
        if name.lower() in PKCS11_ATTRIBUTES and text.rfind("pkcs11:", max(0, m.start() - 256), m.start()) >= 0:
            continue  # ``token=`` in a PKCS#11 URI names the token; its ``pin-value`` is the secret
        env_style = name.isupper() or ("_" in name and name.upper() == name)
        if not (names.is_secret_env_name(name) if env_style else names.is_secret_key(name)):
            continue
        token = _token_for(m, "value")
        value = token.value(text)
        if not value or value.startswith("$") or value == REDACTED:
            continue
        if not token.quote and (value in CODE_WORDS or _CODE_VALUE.fullmatch(value)):
            continue
        if m.group("sep").strip() == ":" and _NOT_A_VALUE.match(text, m.start("value")):
            continue  # ``token: /path``, a URL scheme, ``file.js:7``, or a sentence: not a setting
        yield Span(token.inner_start, token.inner_end, "env" if env_style else "setting", name)


def _queries(text: str) -> Iterator[Span]:
    for m in _QUERY.finditer(text):
        value = m.group("value")
        if names.is_secret_query(m.group("name")) and not value.startswith("$") and value != REDACTED:
            yield Span(m.start("value"), m.end("value"), "query", m.group("name"))


def _userinfo(text: str) -> Iterator[Span]:
    for m in _USERINFO.finditer(text):
        auth = m.group("auth")
        user, sep, password = auth.partition(":")
        if sep and password and not password.startswith("$"):
            start = m.start("auth") + len(user) + 1
            yield Span(start, m.end("auth"), "url_userinfo", "password")
        elif not sep and (looks_random(user) or next(token_spans(user), None) is not None):
            yield Span(m.start("auth"), m.end("auth"), "url_userinfo", "token")


def _pins(text: str) -> Iterator[Span]:
    for m in _PIN.finditer(text):
        yield Span(m.start("value"), m.end("value"), "engine_pin")


def _call_literals(text: str, pos: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each string literal among a call's arguments, from just after ``(``."""
    depth = 1
    for _ in range(MAX_CALL_TOKENS):
        m = _CALL_ARGS.match(text, pos)
        if m is None:
            return
        pos = m.end()
        if m.group("open"):
            depth += 1
        elif m.group("close"):
            depth -= 1
            if depth == 0:
                return
        elif m.group("lit"):
            lit = m.group("lit")
            skip = 2 if lit.startswith("[[") else 1
            yield m.start() + skip, m.end() - skip


def _code_calls(text: str) -> Iterator[Span]:
    for m in _CALL.finditer(text):
        fn = m.group("fn")
        if fn == "new" and not text[max(0, m.start() - 8) : m.start()].lower().endswith(("hmac.", "hmac:")):
            continue
        literals = list(_call_literals(text, m.end()))
        if fn.lower().replace("_", "") == "setheader":
            if not literals or not names.is_secret_header(text[literals[0][0] : literals[0][1]]):
                continue
            literals = literals[1:]
        for start, end in literals:
            value = text[start:end]
            if value.strip() and not _ALGORITHM.fullmatch(value) and value != REDACTED:
                yield Span(start, end, "code", fn)


def _header_tables(text: str) -> Iterator[Span]:
    for m in _HEADER_TABLE.finditer(text):
        header = m.group("name") or (m.group("attr") or "").replace("_", "-")
        if names.is_secret_header(header):
            yield from header_value_spans(text, _token_for(m, "value"), header, "header", header)


def _jwk(text: str) -> Iterator[Span]:
    """Private members of each JSON Web Key object (one with ``"kty"``); public ``n`` and ``e`` stay."""
    pos = 0
    while True:
        at = text.find('"kty"', pos)
        if at < 0:
            return
        start = text.rfind("{", max(0, at - 4096), at)
        end = _object_end(text, at)
        for m in _JWK_MEMBER.finditer(text, start if start >= 0 else at, end):
            yield Span(m.start("value"), m.end("value"), "jwk")
        pos = max(end, at + 5)


def _object_end(text: str, pos: int, limit: int = 65536) -> int:
    """Offset after the ``}`` closing the JSON object ``pos`` is in (strings skipped), bounded."""
    depth, stop, i = 1, min(len(text), pos + limit), pos
    while i < stop:
        ch = text[i]
        if ch == '"':
            close = text.find('"', i + 1, stop)
            while close > 0 and text[close - 1] == "\\":
                close = text.find('"', close + 1, stop)
            i = stop if close < 0 else close + 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return stop


def _htpasswd(text: str) -> Iterator[Span]:
    for m in _HTPASSWD.finditer(text):
        yield Span(m.start("hash"), m.end("hash"), "htpasswd")
    for m in _HTPASSWD_DES.finditer(text):
        if _DES_MIXED.match(m.group("hash")):
            yield Span(m.start("hash"), m.end("hash"), "htpasswd")


def _random(text: str) -> Iterator[Span]:
    for start, end in random_runs(text):
        if next(token_spans(text, start, end), None) is None:  # a known form keeps its prefix
            yield Span(start, end, "high_entropy")


_Rule = tuple[Callable[[str], Iterator[Span]], tuple[str, ...]]
RULES: tuple[_Rule, ...] = (
    (_header_directives, ("header", "trailer")),
    (_header_tables, ("eader",)),
    (_header_lines, (":", "=")),
    (_queries, ("=",)),
    (_settings, ("=", ":")),
    (_userinfo, ("@",)),
    (token_spans, ()),
    (_pins, ("pin-value", "PIN-VALUE", "Pin-Value")),
    (_code_calls, ("(",)),
    (_jwk, ('"kty"',)),
    (_htpasswd, (":",)),
    (_random, ()),
)
"""Each rule with the literals one of which must occur for it to find anything (none: always run).
Where two rules mask the same value, the earlier one names it."""


def text_spans(text: str) -> Iterator[Span]:
    """Spans of every secret the text rules find."""
    for rule, hints in RULES:
        if hints and not any(h in text for h in hints):
            continue
        yield from rule(text)
