"""The intake redaction, by its original name: ``bot.evidence.redaction`` is where it lives.

Kept so that ``from bot.evidence.redact import redact`` (the durable inbox's payload writer,
the unmatched-lines queue) keeps working; new code imports ``bot.evidence.redaction``.
"""

from bot.evidence.redaction import REDACTED, Masked, Redaction, is_secret_key, redact, redact_intake

__all__ = ["REDACTED", "Masked", "Redaction", "is_secret_key", "redact", "redact_intake"]
