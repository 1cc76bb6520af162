"""The template cache (``bot.knowledge.template_cache``): kept between runs, never trusted blindly.

It holds compiled Jinja2 code and render trees for every template a user's runs have seen.
It must survive a restart, ignore a damaged file or entry (and replace it), and be a
different file when anything the entries depend on changes.
"""

from __future__ import annotations

import marshal
from pathlib import Path

from bot.knowledge.template_cache import CodeCache, default_cache

TREE = (("text", "usable slots = "), ("out", ("name", "wc")))


def _code() -> object:
    return compile("x = 1", "<kb>", "exec")


def test_entries_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "jinja-x.marshal"
    first = CodeCache(path)
    first.put("tree\0text\0a", TREE)
    first.put("text\0a", _code())
    first.put("tree\0text\0b", None)
    first.save()
    again = CodeCache(path)
    assert again.get("tree\0text\0a") == TREE
    assert again.get("tree\0text\0b", "missing") is None  # "no tree" is an answer too
    assert again.get("tree\0text\0c", "missing") == "missing"
    namespace: dict[str, object] = {}
    exec(again.get("text\0a"), namespace)
    assert namespace["x"] == 1


def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "jinja-x.marshal"
    for damage in (b"", b"\x00garbage", marshal.dumps(["not", "a", "dict"]), marshal.dumps({"k": _code()})):
        path.write_bytes(damage)  # the last is the older format, code objects not kept as blobs
        cache = CodeCache(path)
        assert cache.get("k") is None
        cache.put("k", TREE)
        cache.save()
        assert CodeCache(path).get("k") == TREE


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "jinja-x.marshal"
    path.write_bytes(marshal.dumps({"bad": b"\xff\x00", "odd": marshal.dumps({"a": 1}), "ok": marshal.dumps(TREE)}))
    cache = CodeCache(path)
    assert cache.get("bad", "miss") == "miss"
    assert cache.get("odd", "miss") == "miss"  # not a tree, code object or None
    assert cache.get("ok") == TREE


def test_an_unwritable_cache_is_simply_not_saved(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = CodeCache(blocker / "jinja-x.marshal")  # its directory cannot be made
    cache.put("k", TREE)
    cache.save()
    assert CodeCache(blocker / "jinja-x.marshal").get("k") is None


def test_another_translator_or_setting_is_another_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = tmp_path / "templates.py"
    settings.write_text("a = 1\n")
    before = default_cache(settings).path
    assert default_cache(settings).path == before
    settings.write_text("a = 22\n")  # the translator or the environments changed
    assert default_cache(settings).path != before
    assert before.parent == tmp_path / "xdg" / "nginx-triage"
