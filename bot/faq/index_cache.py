"""The FAQ retrieval index, cached per user beside the compiled KB and keyed the same way.

Building the index imports bm25s and numpy (about 0.2 s, most of a one-shot ``ask``) to
compute weights that only change when the KB or the retrieval code does. So the finished
``Bm25Index`` (documents, analyzer, postings: plain Python) is pickled in the KB cache
directory, named by the KB's fingerprint (``bot.knowledge.kb_cache``) and a hash of the
retrieval code's files: never stale, safe to delete, a broken file is ignored and rewritten,
an unwritable directory just means no cache. A KB that did not come from the cache (the
Slack bot and ``kb lint`` validate from source) has no key and gets a freshly built index.
"""

from __future__ import annotations

from pathlib import Path

from bot.faq.retrieval import Bm25Index
from bot.hashing import blake2b
from bot.knowledge.kb_cache import KEEP_FILES, cached_key
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.pickle_cache import read_cached, write_cached
from bot.user_cache import cache_dir

INDEX_FORMAT = 1
"""Bump when ``Bm25Index`` changes shape in a way the code hash cannot see."""

_MAGIC = b"nginx-triage-faq-index"


def _code_key() -> str:
    """A hash of the code that builds and reads the index (names, sizes, modification times)."""
    h = blake2b(digest_size=10)
    h.update(f"{_MAGIC!r} {INDEX_FORMAT}\0".encode())
    for code in sorted(Path(__file__).parent.glob("*.py")):
        st = code.stat()
        h.update(f"{code.name} {st.st_size} {st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def index_file(kb_key: str) -> Path:
    """Where the index of the KB with fingerprint ``kb_key`` is stored."""
    return cache_dir() / f"faq-{kb_key}-{_code_key()}.pickle"


def _read(path: Path, key: str) -> Bm25Index | None:
    return read_cached(path, _MAGIC, key, Bm25Index)


def _write(path: Path, key: str, index: Bm25Index) -> None:
    """Store atomically; keeps the ``KEEP_FILES`` newest index files."""
    write_cached(path, _MAGIC, key, index, keep=KEEP_FILES)


def cached_index(kb: KnowledgeBase) -> Bm25Index:
    """The retrieval index of ``kb``: from the cache when ``kb`` came from the KB cache and the
    index is stored, else built (and stored, when it can be keyed)."""
    kb_key = cached_key(kb)
    if kb_key is None:
        return Bm25Index(kb)
    path = index_file(kb_key)
    key = path.stem
    index = _read(path, key)
    if index is None:
        index = Bm25Index(kb)
        _write(path, key, index)
    return index
