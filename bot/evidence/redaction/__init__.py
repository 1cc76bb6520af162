"""The one redaction step every paste, upload, command and file goes through before anything is
stored, echoed, logged or written to a file.

``redact_intake(text)`` returns the text with every secret value replaced by ``<redacted>``
and, in text order, what was masked: its kind and the name it went by, never its value.
Detectors, each reporting spans of the original text:

- ``config_rules``: what nginx directives mean (headers by name, ``env``, ``set``, ``map``
  and ``if`` on secret request headers, ``secure_link_md5``, ``auth_jwt_key*``, ``js_var``,
  ``perl_set``, inline ``data:`` keys), over the statements ``nginx_lexer`` reads;
- ``key_material``: PEM private keys and fragments, and the contents of key and password files;
- ``text_rules``: header lines, settings, query parameters, URL userinfo, known token forms,
  engine PINs, Lua/njs call literals, JWK members, htpasswd hashes, random-looking tokens.

Only values are replaced, with a placeholder that is a valid bare nginx token, and never a
newline: the redacted dump parses to the same directives on the same lines, so findings,
``file:line`` and the diff's context stay right. Redacting twice changes nothing.
"""

from __future__ import annotations

from bot.evidence.redaction.config_rules import config_spans
from bot.evidence.redaction.key_material import certificate_ranges, fragment_spans, key_file_spans, pem_spans
from bot.evidence.redaction.model import REDACTED, Masked, Redaction, apply_spans
from bot.evidence.redaction.names import is_secret_key
from bot.evidence.redaction.text_rules import text_spans

__all__ = ["REDACTED", "Masked", "Redaction", "is_secret_key", "redact", "redact_intake"]


def redact_intake(text: str) -> Redaction:
    """The intake redaction: ``text`` with every secret masked, and what was masked (kinds and names)."""
    if not text:
        return Redaction(text)
    found = config_spans(text)
    spans = [
        *found.spans,
        *pem_spans(text),
        *fragment_spans(text),
        *key_file_spans(text, found.key_files),
        *text_spans(text),
    ]
    public = certificate_ranges(text)
    if public:  # a certificate's body looks random, and is public
        spans = [s for s in spans if s.kind != "high_entropy" or not any(a <= s.start < b for a, b in public)]
    return apply_spans(text, spans)


def redact(text: str) -> tuple[str, int]:
    """(redacted text, how many secrets were masked): ``redact_intake`` for callers that only count."""
    result = redact_intake(text)
    return result.text, result.count
