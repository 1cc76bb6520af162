"""``bot.hashing.blake2b`` is hashlib's BLAKE2b without OpenSSL: the same digests (cache keys
and the redaction memo must not change with it)."""

from __future__ import annotations

import hashlib

import pytest

from bot.hashing import blake2b


@pytest.mark.parametrize("size", [10, 12, 16, 20, 64])
@pytest.mark.parametrize(
    "data", [b"", b"nginx-triage", "ü\udcff".encode("utf-8", "surrogatepass"), bytes(range(256)) * 40]
)
def test_same_digest_as_hashlib(data: bytes, size: int) -> None:
    assert blake2b(data, digest_size=size).digest() == hashlib.blake2b(data, digest_size=size).digest()
    ours = blake2b(digest_size=size)
    theirs = hashlib.blake2b(digest_size=size)
    for part in (data[:7], data[7:]):
        ours.update(part)
        theirs.update(part)
    assert ours.hexdigest() == theirs.hexdigest()


def test_a_known_digest() -> None:
    """Pinned: a change of algorithm or parameters would silently re-key every cache."""
    assert blake2b(b"abc", digest_size=20).hexdigest() == hashlib.blake2b(b"abc", digest_size=20).hexdigest()
    assert blake2b(b"abc").hexdigest().startswith("ba80a53f981c4d0d6a2797b69f12f6e9")
