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
``file:line`` and the diff's context stay right. Redacting twice changes nothing, so a big
text this process just produced as a redaction's output is not scanned again
(``CLEAN_TEXTS``): an uploaded file is redacted at intake, and the engine's own redaction of
it is then a lookup, not a second pass over a megabyte.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

from bot.evidence.redaction.config_rules import config_spans
from bot.evidence.redaction.key_material import certificate_ranges, fragment_spans, key_file_spans, pem_spans
from bot.evidence.redaction.model import REDACTED, Masked, Redaction, apply_spans
from bot.evidence.redaction.names import is_secret_key
from bot.evidence.redaction.text_rules import text_spans
from bot.hashing import blake2b

__all__ = ["CLEAN_TEXTS", "REDACTED", "Masked", "Redaction", "is_secret_key", "redact", "redact_intake"]

CLEAN_MIN_CHARS = 16_384
"""Texts at least this long are remembered as clean once redacted (shorter ones redact in
milliseconds, and log values and single lines would only churn the memo)."""
CLEAN_BOUND = 64
"""Digests remembered: a few turns' uploads and pastes per worker; 16 bytes each."""


class CleanTexts:
    """Digests of texts that are the output of a redaction in this process (bounded, least
    recently used first out). Redaction is idempotent (``tests/unit/test_redact.py``), so such a
    text redacts to itself with nothing masked; the digest stands in for that second pass.
    Only digests are kept, never text.

    Turn threads share it without a lock (the engine imports no threading): each step is one
    ``OrderedDict`` call on bytes keys, atomic under the GIL, and a key another thread evicted
    meanwhile only means a text is scanned again."""

    def __init__(self, bound: int = CLEAN_BOUND) -> None:
        self.bound = bound
        self._digests: OrderedDict[bytes, None] = OrderedDict()

    @staticmethod
    def digest(text: str) -> bytes:
        """The key of ``text`` (lone surrogates, which JSON events may carry, are kept as they are)."""
        return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def holds(self, text: str) -> bool:
        """Whether ``text`` is known to be a redaction's output."""
        key = self.digest(text)
        if key not in self._digests:
            return False
        with contextlib.suppress(KeyError):  # evicted by another thread since: it was clean all the same
            self._digests.move_to_end(key)
        return True

    def add(self, text: str) -> None:
        """Remember ``text`` as a redaction's output."""
        key = self.digest(text)
        digests = self._digests
        digests[key] = None
        with contextlib.suppress(KeyError):
            digests.move_to_end(key)
            while len(digests) > self.bound:
                digests.popitem(last=False)

    def size(self) -> tuple[int, int]:
        """(digests held, bound), for the long-running bot's metrics."""
        return len(self._digests), self.bound


CLEAN_TEXTS = CleanTexts()
"""This process's memo (the worker's turns, the CLI's pastes)."""


def redact_intake(text: str) -> Redaction:
    """The intake redaction: ``text`` with every secret masked, and what was masked (kinds and names)."""
    if not text:
        return Redaction(text)
    big = len(text) >= CLEAN_MIN_CHARS
    if big and CLEAN_TEXTS.holds(text):
        return Redaction(text)
    result = _scan(text)
    if big:
        CLEAN_TEXTS.add(result.text)
    return result


def _scan(text: str) -> Redaction:
    """Every detector over ``text``, then the spans applied."""
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
