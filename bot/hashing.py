"""BLAKE2b for the caches' keys and the redaction memo, without loading OpenSSL.

Why: ``import hashlib`` loads ``_hashlib`` (OpenSSL), about 2.4 ms of every start-up, only
for ``hashlib.blake2b``, which is CPython's builtin ``_blake2.blake2b`` anyway (the same
object, so the same digests). Importing the builtin module directly skips OpenSSL; a Python
built without it falls back to ``hashlib``.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without the builtin BLAKE2
    from hashlib import blake2b  # type: ignore[assignment,no-redef,unused-ignore]

__all__ = ["blake2b"]
