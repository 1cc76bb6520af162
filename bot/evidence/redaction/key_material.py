"""Keys pasted as files: PEM private keys (whole, or a fragment without its BEGIN line), bare
base64 key bodies, and the contents of files that are keys or passwords.

A private key is masked line by line between ``-----BEGIN ... PRIVATE KEY-----`` and its END
(to the end of the paste when END is missing); an END line without its BEGIN masks the
base64 lines above it (a paste that starts mid-key). Runs of long base64 lines outside a
certificate are key material too. Certificates (public) stay.

A file is a key or password file when the configuration names it in a key-file directive
(``ssl_password_file``, ``auth_basic_user_file``, ``ssl_certificate_key`` ...) or its name
says so (``*.pass``, ``.htpasswd``, ``*.jwk``, ``*.key``). Its contents are masked whole,
wherever the paste shows them: after ``$ cat PATH`` (any prompt), after an ``nginx -T``
style ``# configuration file PATH:`` header, or after ``head``/``tail``'s ``==> PATH <==``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from bot.evidence.redaction.model import Span
from bot.lazy_re import lazy_compile

_PEM_BEGIN = lazy_compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = lazy_compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY_LINE = lazy_compile(
    r"[ \t]{0,16}(?:[A-Za-z0-9+/]{0,128}={0,2}|(?:Proc-Type|DEK-Info):[^\n]{0,256})[ \t\r]{0,16}"
)
_CERT = lazy_compile(r"-----BEGIN (?:CERTIFICATE|X509 CRL|CERTIFICATE REQUEST|PUBLIC KEY|TRUSTED CERTIFICATE)-----")
_CERT_END = lazy_compile(r"-----END (?:CERTIFICATE|X509 CRL|CERTIFICATE REQUEST|PUBLIC KEY|TRUSTED CERTIFICATE)-----")
_B64_LINE = lazy_compile(r"^[ \t]{0,16}(?P<body>[A-Za-z0-9+/]{4,76}={0,2})[ \t]{0,16}\r?$", re.MULTILINE)
_MIXED = lazy_compile(r"\A(?=[^\n]*[0-9])(?=[^\n]*[a-z])(?=[^\n]*[A-Z])")
_PROMPT = lazy_compile(
    r"^[ \t]{0,8}(?:[\w.-]{1,64}@[\w.-]{1,64}(?::[^\s$#]{0,256})?[ \t]{0,4}[$#]"
    r"|\[[^\]\n]{1,128}\][$#]|[$#>]|PS [^>\n]{0,256}>)"
    r"[ \t]{1,8}(?P<cmd>[^\n]{0,4096})$",
    re.MULTILINE,
)
_SHOW_FILE = lazy_compile(
    r"(?:^|[;&|][ \t]{0,4})(?:sudo[ \t]{1,4}(?:-\S{1,16}[ \t]{1,4}){0,4})?"
    r"(?:cat|head|tail|less|more|bat|batcat|xxd|strings|od)(?:[ \t]{1,4}-\S{1,16}){0,4}[ \t]{1,4}"
    r"(?P<path>[^\s|;&<>]{1,1024})"
)
_CONF_HEADER = lazy_compile(r"^# configuration file (?P<path>[^\n]{1,4096}):[ \t]*$", re.MULTILINE)
_TAIL_HEADER = lazy_compile(r"^==> (?P<path>[^\n]{1,4096}) <==[ \t]*$", re.MULTILINE)
_KEY_FILE_NAME = lazy_compile(
    r"(?i)(?:\.pass(?:word|phrase)?|\.pw|htpasswd|htdigest|passwd|\.jwks?|\.key|\.p12|\.pfx|\.keytab|"
    r"id_(?:rsa|dsa|ecdsa|ed25519)|secrets?(?:\.\w{1,8})?|credentials?(?:\.\w{1,8})?|token|\.env)$"
)
MAX_KEY_FILE_LINES = 400
"""A shown key file is masked to its end, or to the next prompt or file header, at most this many lines."""


def pem_spans(text: str) -> Iterator[Span]:
    """Every line of a PEM private key's body (to the end when END is missing)."""
    if "PRIVATE KEY" not in text:
        return
    pos = 0
    while True:
        begin = _PEM_BEGIN.search(text, pos)
        if begin is None:
            break
        end = _PEM_END.search(text, begin.end())
        stop = end.start() if end else _body_end(text, begin.end())
        yield Span(begin.end(), stop, "private_key")
        if end is None:
            return
        pos = end.end()


def _body_end(text: str, pos: int) -> int:
    """Where a key body with no END line stops: at the first line that is no PEM body line
    (a truncated paste is masked to its end; a sentence quoting a BEGIN line is left alone)."""
    while pos < len(text):
        nl = text.find("\n", pos)
        stop = len(text) if nl < 0 else nl
        if not _PEM_BODY_LINE.fullmatch(text, pos, stop):
            return pos
        pos = stop + 1
    return len(text)


def certificate_ranges(text: str) -> list[tuple[int, int]]:
    """(start, end) of each certificate, CRL, CSR or public key block: public, never masked."""
    return _certificate_ranges(text)


def _certificate_ranges(text: str) -> list[tuple[int, int]]:
    if "-----BEGIN" not in text:
        return []
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        begin = _CERT.search(text, pos)
        if begin is None:
            return out
        end = _CERT_END.search(text, begin.end())
        stop = end.end() if end else len(text)
        out.append((begin.start(), stop))
        pos = stop


def _blocks(text: str) -> Iterator[list[re.Match[str]]]:
    """Runs of consecutive lines made only of base64 characters."""
    block: list[re.Match[str]] = []
    for m in _B64_LINE.finditer(text):
        if block and text.count("\n", block[-1].end(), m.start()) != 1:
            yield block
            block = []
        block.append(m)
    if block:
        yield block


def fragment_spans(text: str) -> Iterator[Span]:
    """Base64 key material outside certificates: a run of base64 lines with two long lines (or
    one of PEM's 64 characters) mixing letters and digits, or any run right above a private
    key's END line (a paste that starts mid-key)."""
    certificates = _certificate_ranges(text)
    for block in _blocks(text):
        if any(start <= block[0].start() < end for start, end in certificates):
            continue
        long_lines = [m for m in block if len(m.group("body")) >= 40 and _MIXED.match(m.group("body"))]
        after = text[block[-1].end() : block[-1].end() + 80].lstrip("\r\n")
        orphan_end = _PEM_END.match(after) is not None
        if len(long_lines) >= 2 or any(len(m.group("body").rstrip("=")) >= 60 for m in long_lines) or orphan_end:
            yield Span(block[0].start("body"), block[-1].end("body"), "key_fragment")


def is_key_file(path: str, named: Iterable[str] = ()) -> bool:
    """Whether ``path`` is a key or password file: named by a key-file directive, or by its name."""
    path = path.strip().strip("\"'")
    base = os.path.basename(path)
    for known in named:
        if path == known or (base and base == os.path.basename(known)):
            return True
    return bool(base) and bool(_KEY_FILE_NAME.search(base))


def _section_end(text: str, start: int, stop_at_blank: bool) -> int:
    """Where a shown file ends: the next prompt or file header, a blank line (for ``cat``
    output, when asked), or ``MAX_KEY_FILE_LINES`` lines on."""
    pos = start
    for _ in range(MAX_KEY_FILE_LINES):
        if pos >= len(text):
            return len(text)
        nl = text.find("\n", pos)
        stop = len(text) if nl < 0 else nl
        line = text[pos:stop]
        if _PROMPT.match(line) or line.startswith(("# configuration file ", "==> ")):
            return pos
        if stop_at_blank and not line.strip():
            return pos
        pos = stop + 1
    return pos


def key_file_spans(text: str, named: Iterable[str]) -> Iterator[Span]:
    """Every line of every key or password file shown in the paste."""
    named = tuple(named)
    for m in _PROMPT.finditer(text):
        for shown in _SHOW_FILE.finditer(m.group("cmd")):
            if is_key_file(shown.group("path"), named):
                start = m.end() + 1
                end = _section_end(text, start, stop_at_blank=True)
                yield Span(start, end, "key_file", os.path.basename(shown.group("path")))
                break
    for header in (_CONF_HEADER, _TAIL_HEADER):
        for m in header.finditer(text):
            if is_key_file(m.group("path"), named):
                start = m.end() + 1
                end = _section_end(text, start, stop_at_blank=False)
                yield Span(start, end, "key_file", os.path.basename(m.group("path")))
