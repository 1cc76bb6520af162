"""The compiled KB cache (bot/knowledge/kb_cache.py): never stale, safe to break, optional.

Every test works on a copy of the built-in KB in tmp_path and a cache directory of its own
(XDG_CACHE_HOME), and clears the in-process memo so a load really reads the cache file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.knowledge import kb_cache
from bot.knowledge.kb_cache import cache_file, cached_kb, compile_kb, fingerprint
from bot.knowledge.loader import KnowledgeBaseError, builtin_kb_dir, load_kb
from bot.knowledge.records import Record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kb_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    src = builtin_kb_dir()
    dst = tmp_path / "kb"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("catalog"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_EXTRA_DIR", raising=False)
    kb_cache._memo.clear()
    return dst


def fresh(dirs: list[Path]):
    """A load as a new process does it: no memo, only the cache file (if any)."""
    kb_cache._memo.clear()
    return cached_kb(dirs)


def test_a_second_load_comes_from_the_cache_file_without_validating(kb_copy, monkeypatch):
    first = fresh([kb_copy])
    path = cache_file(fingerprint([kb_copy]))
    assert path.is_file()
    monkeypatch.setattr(kb_cache, "load_kb", lambda dirs: pytest.fail("validated again"))
    again = fresh([kb_copy])
    assert again.errors == first.errors and again.texts == first.texts
    assert isinstance(again.errors["bind-address-in-use"], Record)


def test_records_carry_every_field_of_the_validated_models(kb_copy):
    models = load_kb([kb_copy])
    records = compile_kb(models)
    for kb_id, entry in models.errors.items():
        rec = records.errors[kb_id]
        assert rec.match.anchors == entry.match.anchors
        assert rec.match.regexes == entry.match.regexes
        assert [m.format for m in rec.messages] == [m.format for m in entry.messages]
        assert set(vars(rec)) == set(type(entry).model_fields)
    assert records.default_environment is not None
    assert records.default_environment.id == models.default_environment.id  # type: ignore[union-attr]
    with pytest.raises(AttributeError, match="frozen"):
        records.errors["bind-address-in-use"].title = "x"  # type: ignore[misc]


def test_an_edited_file_is_seen_even_with_the_same_size_at_once(kb_copy):
    assert fresh([kb_copy]).errors["bind-address-in-use"].severity == "critical"
    path = kb_copy / "errors" / "bind-address-in-use.yaml"
    text = path.read_text()
    # same length, written right after the cache: a size+mtime key could miss this
    path.write_text(text.replace('title: "bind() failed', 'title: "bind() FAILED', 1))
    assert "FAILED" in fresh([kb_copy]).errors["bind-address-in-use"].title


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = kb_cache._read_bytes
    monkeypatch.setattr(kb_cache, "_read_bytes", lambda path: (reads.append(path), real(path))[1])
    return reads


def test_settled_files_are_not_read_again(kb_copy, monkeypatch):
    """Reading every KB file at each start costs more than a short diagnosis: a file whose
    size and settled times are unchanged is known by the hash remembered for it."""
    reads = _count_reads(monkeypatch)
    first = fingerprint([kb_copy])
    assert len(reads) > 100 and not list((kb_copy.parent / "cache").glob("nginx-triage/kbfiles-*"))
    reads.clear()
    monkeypatch.setattr(kb_cache, "RACY_SECONDS", 0.0)  # as if they were copied long ago
    assert fingerprint([kb_copy]) == first and len(reads) > 100  # read once more, and remembered
    reads.clear()
    assert fingerprint([kb_copy]) == first and reads == []  # the same key, from the hashes remembered


def test_recent_files_are_always_read(kb_copy, monkeypatch):
    """Times within a clock tick cannot tell two versions of a file apart: a file changed in
    the last RACY_SECONDS is read whatever is remembered for it."""
    monkeypatch.setattr(kb_cache, "RACY_SECONDS", 0.0)
    fingerprint([kb_copy])
    monkeypatch.setattr(kb_cache, "RACY_SECONDS", 3600.0)  # every file is recent
    reads = _count_reads(monkeypatch)
    fingerprint([kb_copy])
    assert len(reads) > 100


def test_a_same_size_edit_that_keeps_the_modification_time_is_seen(kb_copy, monkeypatch):
    """Once settled times stand for a file, its change time still moves with any write: an
    editor or ``cp -p`` that puts the old modification time back does not hide an edit."""
    monkeypatch.setattr(kb_cache, "RACY_SECONDS", 0.0)
    time.sleep(0.05)  # the edit below lands on a later tick of the file system's clock
    assert fresh([kb_copy]).errors["bind-address-in-use"].severity == "critical"
    path = kb_copy / "errors" / "bind-address-in-use.yaml"
    before = path.stat()
    path.write_text(path.read_text().replace('title: "bind() failed', 'title: "bind() FAILED', 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert "FAILED" in fresh([kb_copy]).errors["bind-address-in-use"].title


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05N."])
def test_a_damaged_list_of_remembered_hashes_is_ignored(kb_copy, monkeypatch, garbage):
    monkeypatch.setattr(kb_cache, "RACY_SECONDS", 0.0)
    first = fingerprint([kb_copy])
    (store,) = (kb_copy.parent / "cache" / "nginx-triage").glob("kbfiles-*.pickle")
    store.write_bytes(garbage)
    reads = _count_reads(monkeypatch)
    assert fingerprint([kb_copy]) == first and len(reads) > 100


def test_an_added_and_a_deleted_file_are_seen(kb_copy):
    fresh([kb_copy])
    src = kb_copy / "errors" / "bind-address-in-use.yaml"
    (kb_copy / "errors" / "bind-address-in-use-two.yaml").write_text(
        src.read_text().replace("id: bind-address-in-use", "id: bind-address-in-use-two", 1)
    )
    assert "bind-address-in-use-two" in fresh([kb_copy]).errors
    (kb_copy / "errors" / "bind-address-in-use-two.yaml").unlink()
    (kb_copy / "faq" / "reload-or-restart.yaml").unlink()
    kb = fresh([kb_copy])
    assert "bind-address-in-use-two" not in kb.errors and "reload-or-restart" not in kb.faqs


def test_kb_extra_dir_changes_what_is_loaded(kb_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(kb_cache, "kb_dirs_from_env", lambda: [kb_copy, *extra_dirs()])
    extra_a, extra_b = tmp_path / "extra-a", tmp_path / "extra-b"
    for d, title in ((extra_a, "team A wording"), (extra_b, "team B wording")):
        d.mkdir()
        src = (kb_copy / "errors" / "bind-address-in-use.yaml").read_text()
        head, _, rest = src.partition("\ntitle: ")
        (d / "bind-address-in-use.yaml").write_text(f'{head}\ntitle: "{title}"\n{rest.split(chr(10), 1)[1]}')

    def extra_dirs() -> list[Path]:
        extra = os.environ.get("KB_EXTRA_DIR")
        return [Path(extra)] if extra else []

    kb_cache._memo.clear()
    assert cached_kb().errors["bind-address-in-use"].title.startswith("bind() failed")
    monkeypatch.setenv("KB_EXTRA_DIR", str(extra_a))
    kb_cache._memo.clear()
    assert cached_kb().errors["bind-address-in-use"].title == "team A wording"
    monkeypatch.setenv("KB_EXTRA_DIR", str(extra_b))
    kb_cache._memo.clear()
    assert cached_kb().errors["bind-address-in-use"].title == "team B wording"
    (extra_b / "bind-address-in-use.yaml").unlink()
    kb_cache._memo.clear()
    assert cached_kb().errors["bind-address-in-use"].title.startswith("bind() failed")


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05garbage", None])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(kb_copy, garbage):
    expected = fresh([kb_copy])
    path = cache_file(fingerprint([kb_copy]))
    if garbage is None:  # a valid pickle that is not a KB (e.g. a cache from elsewhere)
        import pickle

        path.write_bytes(pickle.dumps(("nginx-triage-kb", "other-key", {"x": 1})))
    else:
        path.write_bytes(garbage)
    kb = fresh([kb_copy])
    assert kb.errors == expected.errors
    assert kb_cache._read(path, fingerprint([kb_copy])) is not None  # rewritten


def test_an_unwritable_cache_dir_just_skips_caching(kb_copy, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    kb = fresh([kb_copy])
    assert "bind-address-in-use" in kb.errors
    assert not cache_file(fingerprint([kb_copy])).exists()


def test_an_invalid_kb_raises_and_is_not_cached(kb_copy):
    (kb_copy / "errors" / "bind-address-in-use.yaml").write_text("id: bind-address-in-use\ntitle: [\n")
    with pytest.raises(KnowledgeBaseError, match=r"bind-address-in-use\.yaml"):
        fresh([kb_copy])
    assert not cache_file(fingerprint([kb_copy])).exists()


def test_old_cache_files_are_pruned(kb_copy):
    path = kb_copy / "errors" / "bind-address-in-use.yaml"
    text = path.read_text()
    for i in range(kb_cache.KEEP_FILES + 3):
        path.write_text(text + f"\n# edit {i}\n")
        fresh([kb_copy])
    assert len(list(kb_cache.cache_dir().glob("kb-*.pickle"))) == kb_cache.KEEP_FILES


def test_the_cli_answers_the_same_cold_and_warm_and_kb_lint_reads_the_source(tmp_path):
    cli = str(Path(sys.executable).parent / "nginx-triage")
    log = ROOT / "examples" / "worker-connections" / "error.log"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("KB_EXTRA_DIR", None)
    runs = [
        subprocess.run([cli, "diagnose", "--format", "json", str(log)], env=env, capture_output=True, timeout=120)
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert list((tmp_path / "cache" / "nginx-triage").glob("kb-*.pickle"))
    # a poisoned cache file (right name, wrong content) must not fool `kb lint` nor diagnose
    for f in (tmp_path / "cache" / "nginx-triage").glob("kb-*.pickle"):
        f.write_bytes(b"broken")
    again = subprocess.run([cli, "diagnose", "--format", "json", str(log)], env=env, capture_output=True, timeout=120)
    assert again.stdout == runs[0].stdout
    bad = tmp_path / "extra"
    bad.mkdir()
    (bad / "broken.yaml").write_text("id: broken\nmatch: {anchors: []}\n")
    lint = subprocess.run(
        [cli, "kb", "lint"], env={**env, "KB_EXTRA_DIR": str(bad)}, capture_output=True, text=True, timeout=300
    )
    assert lint.returncode == 1 and "broken.yaml" in lint.stderr + lint.stdout


def test_one_process_hashes_the_kb_files_once(kb_copy, monkeypatch):
    """``ask`` loads the KB and then its texts load it again: the second is a memo lookup,
    not a second pass over every KB file."""
    fresh([kb_copy])
    calls: list[int] = []
    real = kb_cache.fingerprint
    monkeypatch.setattr(kb_cache, "fingerprint", lambda dirs: (calls.append(1), real(dirs))[1])
    first = cached_kb([kb_copy])
    assert cached_kb([kb_copy]) is first and calls == []
    kb_cache._memo.clear()  # a new process: the files are hashed again
    cached_kb([kb_copy])
    assert calls == [1]
