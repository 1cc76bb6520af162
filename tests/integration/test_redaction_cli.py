"""The command line redacts at intake, in every format: the 96-secret corpus through the installed
``nginx-triage`` (file and stdin), then every marker searched in stdout and stderr: none. The
diagnosis is the one ``--no-redact`` gives, and the diff, made from the redacted dump, applies
with real GNU patch (no fuzz) to the real files with their secrets, changing the right line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.evidence.nginx_config.split import split_dump
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "redaction"
FIXTURE = DATA / "nginx-T-secrets.txt"
PASTE = FIXTURE.read_text(encoding="utf-8")
MARKERS = [s["marker"] for s in yaml.safe_load((DATA / "secrets.yaml").read_text())["secrets"]]
FORMATS = ["text", "markdown", "json", "diff"]
TMO = 120


def run(cli: list[str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=TMO,
        cwd="/",
        check=False,
    )


def leaked(*outputs: str) -> list[str]:
    joined = "\n".join(outputs)
    return [m for m in MARKERS if m in joined]


@pytest.fixture(scope="module")
def outputs(cli: list[str]) -> dict[str, subprocess.CompletedProcess[str]]:
    out = {fmt: run(cli, "diagnose", "--format", fmt, str(FIXTURE)) for fmt in FORMATS}
    out["json-stdin"] = run(cli, "diagnose", "--format", "json", stdin=PASTE.encode())
    out["json-raw"] = run(cli, "diagnose", "--format", "json", "--no-redact", str(FIXTURE))
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_reaches_any_format(outputs: dict[str, subprocess.CompletedProcess[str]], fmt: str) -> None:
    proc = outputs[fmt]
    assert proc.returncode == 0, proc.stderr
    assert leaked(proc.stdout, proc.stderr) == []
    if fmt == "json":
        assert "masked" not in proc.stderr  # JSON says it in its ``redacted`` field
    else:
        notes = [line for line in proc.stderr.splitlines() if "nginx-triage: masked" in line]
        assert len(notes) == 1 and "secrets (" in notes[0], proc.stderr


def test_json_says_what_was_masked_and_diagnoses_as_without_redaction(
    outputs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    clean: dict[str, Any] = json.loads(outputs["json"].stdout)
    raw: dict[str, Any] = json.loads(outputs["json-raw"].stdout)
    from_stdin: dict[str, Any] = json.loads(outputs["json-stdin"].stdout)
    redacted = clean["redacted"]
    assert redacted["enabled"] is True and redacted["count"] >= len(MARKERS)
    assert redacted["summary"].startswith(f"masked {redacted['count']} secrets (")
    assert "env STRIPE_KEY" in redacted["kinds"] and "Cookie header ×6" in redacted["kinds"]
    assert len(redacted["masked"]) == redacted["count"]
    assert all(set(m) == {"kind", "name"} for m in redacted["masked"])
    assert raw["redacted"] == {"enabled": False, "count": 0, "summary": "", "kinds": [], "masked": []}
    assert from_stdin["redacted"]["count"] == redacted["count"]
    # Diagnosis, findings and the fix are those of the unredacted paste: same file, same line.
    for key in ("recommendations", "needs", "capacity", "evidence", "environment"):
        assert clean[key] == raw[key], key
    assert [(f["id"], f["severity"]) for f in clean["findings"]] == [(f["id"], f["severity"]) for f in raw["findings"]]
    assert [m["kb_id"] for m in clean["matches"]] == [m["kb_id"] for m in raw["matches"]]
    (wc,) = [r for r in clean["recommendations"] if r["directive"] == "worker_connections"]
    assert (wc["file"], wc["line"], wc["current"]) == ("/etc/nginx/nginx.conf", 13, "768")
    assert leaked(outputs["json-raw"].stdout)  # the check above can fail: unredacted, the markers are there


def _real_files(root: Path) -> dict[str, str]:
    """The configuration as it is on the server: the files of the dump, secrets and all."""
    dump = PASTE[PASTE.index("# configuration file /etc/nginx/nginx.conf:") : PASTE.index("$ sudo cat ")]
    files, _ = split_dump(dump)
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")
    return files


def test_the_diff_applies_to_the_real_files_without_fuzz(
    outputs: dict[str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    patch = shutil.which("patch")
    if patch is None:
        if os.environ.get("CI") == "true" or os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1":
            pytest.fail("CI needs GNU patch (apt-get install patch)")
        pytest.skip("GNU patch is not installed")
    diff = outputs["diff"].stdout
    assert "-\tworker_connections 768;\n+\tworker_connections 2048;\n" in diff
    assert "<redacted>" not in diff  # context stops before redacted lines
    files = _real_files(tmp_path)
    diff_file = tmp_path / "fix.diff"
    diff_file.write_text(diff)
    applied = subprocess.run(
        [patch, "-p0", "--forward", "--follow-symlinks", "--fuzz=0", "-i", str(diff_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TMO,
        check=False,
    )
    assert applied.returncode == 0 and "fuzz" not in applied.stdout, applied.stdout + applied.stderr
    patched = (tmp_path / "etc/nginx/nginx.conf").read_text()
    assert "\tworker_connections 2048;\n" in patched and "worker_rlimit_nofile 4096;\n" in patched
    original = files["/etc/nginx/nginx.conf"]
    for line in original.splitlines():
        if line.startswith("env "):
            assert line in patched.splitlines()  # the real secrets are untouched on the server


def test_match_redacts_every_line_it_prints(cli: list[str]) -> None:
    for fmt in ("jsonl", "text"):
        proc = run(cli, "match", "--format", fmt, str(FIXTURE))
        assert proc.returncode == 0, proc.stderr
        assert leaked(proc.stdout, proc.stderr) == []
    raw = run(cli, "match", "--format", "text", "--no-redact", str(FIXTURE))
    assert leaked(raw.stdout)
