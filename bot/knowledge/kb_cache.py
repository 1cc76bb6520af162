"""The compiled knowledge base: the validated KB, cached per user, keyed by its files' content.

Validating the YAML through pydantic costs about 0.1 s, and importing pydantic and the
schema as much again, at every start of every command. The result of ``load_kb`` only
changes when a KB file (or the code that validates it) changes, so it is stored, as plain
frozen ``Record`` objects pickled, in ``$XDG_CACHE_HOME/nginx-triage`` (``~/.cache/...``).

Never stale: the file name is a hash of the content of every file ``load_kb`` reads (the
built-in KB and ``KB_EXTRA_DIR``, in order), of their names, and of the KB code's own
files (size and mtime), so any edit, new or deleted file, or other ``KB_EXTRA_DIR`` names
another cache file. Reading the 140-odd files at every start cost a short ``diagnose`` more
than all of its matching, so each file's content hash is remembered beside the cache with its
size and modification and change times (``kbfiles-*.pickle``), and used while those are
unchanged. Only settled times are trusted: a file changed less than ``RACY_SECONDS`` ago is
read, since a rewrite of the same size within one tick of the file system's clock keeps its
times (git's "racy clean" rule); any later write, copy (even one keeping the modification
time) or rename moves the change time. Safe to delete at any time. A cache file that cannot be read or does
not hold what its name promises is ignored and rewritten; a directory that cannot be
written (a read-only root in a container) just means no cache. Within one process the
files are hashed once per list of directories (the one-shot CLI the cache serves). ``kb lint`` and the Slack
bot validate from source; the cache serves the one-shot CLI calls.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.hashing import blake2b
from bot.knowledge.loader import KnowledgeBase, kb_dirs_from_env, load_kb
from bot.knowledge.pickle_cache import read_cached, write_cached
from bot.user_cache import cache_dir

CACHE_FORMAT = 1
"""Bump when ``Record`` or ``KnowledgeBase`` change shape: older cache files then miss."""

KEEP_FILES = 4
"""Cache files kept (one per KB content seen recently, e.g. with and without KB_EXTRA_DIR)."""

RACY_SECONDS = 5.0
"""A KB file whose times are this recent (or in the future) is read, whatever is remembered."""

MAX_REMEMBERED = 5000
"""Files whose content hash is remembered (bounded whatever KB_EXTRA_DIR points at)."""

_KINDS = ("errors", "faq", "environments", "findings", "recipes", "guides", "texts")
"""The sub-directories ``load_kb`` reads (plus the YAML files directly in each KB directory)."""

_MAGIC = b"nginx-triage-kb"
_FILES_MAGIC = b"nginx-triage-kb-files"
_memo: dict[str, KnowledgeBase] = {}
_keys: dict[tuple[str, ...], str] = {}
"""The fingerprint already computed in this process for each list of directories: one call
(``ask`` loads the KB, then its texts ask again) hashes the KB files once, not twice. Only
used while ``_memo`` still holds that KB."""


def _kb_files(base: str) -> list[tuple[str, str]]:
    """(name relative to ``base``, path) of the YAML files ``load_kb`` reads in one KB
    directory, in a stable order (plain strings: this runs at every start)."""
    out: list[tuple[str, str]] = []
    for kind in ("", *_KINDS):
        directory = os.path.join(base, kind) if kind else base
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        out += [
            (f"{kind}/{n}" if kind else n, os.path.join(directory, n)) for n in names if n.endswith((".yaml", ".yml"))
        ]
    return out


def _read_bytes(path: str) -> bytes:
    """The file's bytes, or a marker of why it could not be read (``load_kb`` reports it;
    the key just must differ)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        return f"unreadable {exc.errno}".encode()


def _digests(paths: list[str]) -> list[bytes]:
    """Each file's content hash: remembered while its size and settled times are unchanged,
    else read (and remembered when its times have settled)."""
    store = cache_dir() / "kbfiles-1.pickle"
    known = read_cached(store, _FILES_MAGIC, sys.version, dict) or {}
    learned: dict[str, tuple[int, int, int, bytes]] = {}
    now = time.time()
    out: list[bytes] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:  # load_kb reports it; the key just must differ
            out.append(f"unreadable {exc.errno}".encode())
            continue
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        settled = abs(now - max(st.st_mtime, st.st_ctime)) >= RACY_SECONDS
        entry = known.get(path)
        if settled and isinstance(entry, tuple) and len(entry) == 4 and entry[:3] == stamp:
            out.append(entry[3])
            continue
        digest = blake2b(_read_bytes(path), digest_size=20).digest()
        out.append(digest)
        if settled:
            learned[path] = (*stamp, digest)
    if learned and len(known) + len(learned) <= MAX_REMEMBERED:
        write_cached(store, _FILES_MAGIC, sys.version, {**known, **learned}, keep=1)
    return out


def fingerprint(dirs: Sequence[Path]) -> str:
    """A hash of everything the validated KB depends on: file names and contents, and the code."""
    h = blake2b(digest_size=20)
    h.update(f"{_MAGIC!r} {CACHE_FORMAT} {sys.version}\0".encode())
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(n for n in os.listdir(here) if n.endswith(".py")):
        st = os.stat(os.path.join(here, name))
        h.update(f"{name} {st.st_size} {st.st_mtime_ns}\0".encode())
    for base in dirs:
        h.update(f"dir {base.resolve()}\0".encode())
        files = _kb_files(str(base))
        for (name, _path), digest in zip(files, _digests([path for _, path in files]), strict=True):
            h.update(f"{name}\0".encode() + digest)
    return h.hexdigest()


def cache_file(key: str) -> Path:
    """Where the KB with fingerprint ``key`` is stored."""
    return cache_dir() / f"kb-{key}.pickle"


def _read(path: Path, key: str) -> KnowledgeBase | None:
    """The cached KB, or None when the file is missing, broken or not the one for ``key``."""
    return read_cached(path, _MAGIC, key, KnowledgeBase)


def _write(path: Path, key: str, kb: KnowledgeBase) -> None:
    """Store atomically; keeps the ``KEEP_FILES`` newest KB files."""
    write_cached(path, _MAGIC, key, kb, keep=KEEP_FILES)


def compile_kb(kb: KnowledgeBase) -> KnowledgeBase:
    """The same KB with every validated model as a plain ``Record`` (what the cache holds)."""
    from bot.knowledge.records import to_records

    return KnowledgeBase(**{name: to_records(getattr(kb, name)) for name in KnowledgeBase.__dataclass_fields__})


def cached_kb(dirs: Sequence[Path] | None = None) -> KnowledgeBase:
    """The validated KB of ``dirs`` (default: built-in + KB_EXTRA_DIR), from the cache when it is
    current, else validated from source (raising ``KnowledgeBaseError``) and cached."""
    dirs = list(dirs) if dirs is not None else kb_dirs_from_env()
    where = tuple(str(d) for d in dirs)
    known = _keys.get(where)
    if known is not None and (kb := _memo.get(known)) is not None:
        return kb
    key = fingerprint(dirs)
    if (kb := _memo.get(key)) is not None:
        _keys[where] = key
        return kb
    path = cache_file(key)
    kb = _read(path, key)
    if kb is None:
        kb = compile_kb(load_kb(dirs))
        _write(path, key, kb)
    _memo.clear()
    _memo[key] = kb
    _keys.clear()
    _keys[where] = key
    return kb


def cached_key(kb: KnowledgeBase) -> str | None:
    """The fingerprint ``kb`` was cached under, when it is the KB ``cached_kb`` gave this process
    (so what is derived from it can be cached beside it under the same key); else None."""
    for key, known in _memo.items():
        if known is kb:
            return key
    return None


def cache_state(dirs: Sequence[Path] | None = None) -> dict[str, str]:
    """What ``doctor`` reports: where the cache is and whether it holds the current KB."""
    dirs = list(dirs) if dirs is not None else kb_dirs_from_env()
    key = fingerprint(dirs)
    path = cache_file(key)
    if _read(path, key) is not None:
        state = "current"
    elif path.exists():
        state = "unreadable (it is rebuilt at the next run)"
    else:
        state = "not built yet (it is built at the next run)"
    writable = os.access(path.parent if path.parent.exists() else path.parent.parent, os.W_OK)
    return {"path": str(path), "state": state, "writable": "yes" if writable else "no (runs without a cache)"}
