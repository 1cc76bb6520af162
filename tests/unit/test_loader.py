"""A broken KB file fails loudly, naming file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeBaseError, builtin_kb_dir, load_kb


def _kb_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "kb"
    (dst / "errors").mkdir(parents=True)
    src = builtin_kb_dir() / "errors" / "worker-connections-not-enough.yaml"
    shutil.copy(src, dst / "errors" / src.name)
    return dst


def test_builtin_kb_loads_with_every_required_id():
    kb = load_kb(require_builtin_ids=True)
    assert len(kb.errors) >= 36 and len(kb.faqs) >= 10
    assert "nginx-T" in kb.evidence


def test_bad_field_names_file_line_and_field(tmp_path):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    text = f.read_text().replace("severity: critical", "severity: apocalyptic")
    f.write_text(text)
    with pytest.raises(KnowledgeBaseError) as exc:
        load_kb([d])
    line_no = text.splitlines().index("severity: apocalyptic") + 1
    assert f"{f}:{line_no}: severity:" in str(exc.value)


def test_unknown_field_is_an_error(tmp_path):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    f.write_text(f.read_text() + "\nseverty: high\n")
    with pytest.raises(KnowledgeBaseError, match="severty: Extra inputs are not permitted"):
        load_kb([d])


def test_bad_regex_is_an_error_with_its_line(tmp_path):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    text = f.read_text().replace("  regexes:\n", "  regexes:\n    - '(unclosed'\n", 1)
    f.write_text(text)
    with pytest.raises(
        KnowledgeBaseError, match=r"match\.regexes\.0: Value error, regex '\(unclosed' does not compile"
    ):
        load_kb([d])


def test_yaml_syntax_error_names_the_line(tmp_path):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    f.write_text("id: x\ntitle: [unclosed\n")
    with pytest.raises(KnowledgeBaseError, match=r"worker-connections-not-enough.yaml:\d+: YAML syntax"):
        load_kb([d])


def test_id_must_equal_file_name(tmp_path):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    f.rename(d / "errors" / "other-name.yaml")
    with pytest.raises(KnowledgeBaseError, match="must equal the file name 'other-name'"):
        load_kb([d])


def test_extra_dir_overrides_and_adds(tmp_path, monkeypatch):
    d = _kb_copy(tmp_path)
    f = d / "errors" / "worker-connections-not-enough.yaml"
    f.write_text(f.read_text().replace("severity: critical", "severity: low"))
    monkeypatch.setenv("KB_EXTRA_DIR", str(d))
    kb = load_kb()
    assert kb.errors["worker-connections-not-enough"].severity == "low"
    assert len(kb.errors) >= 36


def test_flat_extra_dir_like_a_configmap_mount(tmp_path, monkeypatch):
    src = builtin_kb_dir()
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(src / "errors" / "worker-connections-not-enough.yaml", flat / "worker-connections-not-enough.yaml")
    (flat / "worker-connections-not-enough.yaml").write_text(
        (flat / "worker-connections-not-enough.yaml").read_text().replace("severity: critical", "severity: high")
    )
    shutil.copy(src / "faq" / "reload-or-restart.yaml", flat / "reload-or-restart.yaml")
    monkeypatch.setenv("KB_EXTRA_DIR", str(flat))
    kb = load_kb()
    assert kb.errors["worker-connections-not-enough"].severity == "high"
    assert kb.sources["faq/reload-or-restart"].parent == flat
    (flat / "junk.yaml").write_text("hello: world\n")
    with pytest.raises(KnowledgeBaseError, match="not a KB entry"):
        load_kb()


def test_a_need_must_name_a_kind_of_evidence_yaml(tmp_path):
    d = _kb_copy(tmp_path)
    shutil.copy(builtin_kb_dir() / "evidence.yaml", d / "evidence.yaml")
    f = d / "errors" / "worker-connections-not-enough.yaml"
    text = f.read_text().replace("  - evidence: worker-limits\n", "  - evidence: worker-limit\n", 1)
    f.write_text(text)
    with pytest.raises(KnowledgeBaseError) as exc:
        load_kb([d])
    line_no = text.splitlines().index("  - evidence: worker-limit") + 1
    assert f"{f}:{line_no}: needs.1.evidence: unknown kind 'worker-limit'; one of the keys of evidence.yaml:" in str(
        exc.value
    )
    assert "worker-limits" in str(exc.value)


def test_every_evidence_kind_needs_a_label(tmp_path):
    d = _kb_copy(tmp_path)
    (d / "evidence.yaml").write_text(
        (builtin_kb_dir() / "evidence.yaml").read_text().replace("  label: a limits table\n", "", 1)
    )
    with pytest.raises(KnowledgeBaseError, match=r"evidence.yaml:\d+: worker-limits.label: Field required"):
        load_kb([d])
