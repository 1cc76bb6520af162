"""The catalogue through the front door: `match --format jsonl`, `diagnose --format json`,
`kb stats` and `kb gaps`, run as a user runs them (the installed command, real SQLite/
PostgreSQL-compatible store). Contract (DESIGN.md): a line no curated entry explains but
the catalogue knows keeps kb_id null and gets catalog {module, level, source, directives}."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.cli.gaps import gaps_command
from bot.store import Store, fingerprint

UNKNOWN_TO_KB = (
    '2024/05/01 10:00:00 [error] 12#12: *3 upstream sent invalid status "abc" while reading response header '
    'from upstream, client: 10.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000"'
)
IN_KB = "2024/05/01 10:00:01 [alert] 12#12: 1024 worker_connections are not enough"
NOT_NGINX = "just a sentence that nginx never wrote"


def _run(cli: list[str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_match_jsonl_adds_catalog_only_where_no_entry_matched(cli: list[str]) -> None:
    proc = _run(cli, "match", "--format", "jsonl", stdin="\n".join([UNKNOWN_TO_KB, IN_KB, NOT_NGINX]) + "\n")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["kb_id"] for r in rows] == [None, "worker-connections-not-enough", None]
    known = rows[0]["catalog"]
    assert known["module"] == "ngx_http_fastcgi_module"  # several modules log it: the upstream scheme picks
    assert known["level"] == "error" and known["source"].startswith("src/http/modules/ngx_http_fastcgi_module.c:")
    assert isinstance(known["directives"], list)
    assert rows[1]["catalog"] is None and rows[2]["catalog"] is None


def test_diagnose_json_lists_unmatched_lines_with_their_catalogue_message(cli: list[str], tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("\n".join([UNKNOWN_TO_KB, IN_KB, NOT_NGINX]) + "\n", encoding="utf-8")
    proc = _run(cli, "diagnose", "--format", "json", str(log))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["unmatched_lines"] == 2
    by_line = {u["line"]: u["catalog"] for u in data["unmatched"]}
    assert by_line[UNKNOWN_TO_KB]["format"] == 'upstream sent invalid status "%V"'
    assert by_line[NOT_NGINX] is None
    text = _run(cli, "diagnose", str(log))
    assert text.returncode == 0, text.stderr
    assert "nginx's message catalogue knows" in text.stdout and "ngx_http_fastcgi_module" in text.stdout


def test_kb_stats_text_and_json(cli: list[str]) -> None:
    proc = _run(cli, "kb", "stats", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["messages"] > 1200 and 0 < data["explained_by_curated"] <= data["messages"]
    assert data["per_entry"]["config-test-failed"] > 0
    assert sum(data["by_level"].values()) == data["messages"]
    text = _run(cli, "kb", "stats")
    assert text.returncode == 0, text.stderr
    assert f"explain {data['explained_by_curated']} of them" in text.stdout
    assert data["nginx_release"] in text.stdout


def test_gaps_group_by_catalogue_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/gaps.sqlite3"
    other_values = UNKNOWN_TO_KB.replace('"abc"', '"HTTP/9 0"').replace("10.0.0.1", "10.9.9.9")
    assert fingerprint(UNKNOWN_TO_KB) == fingerprint(other_values)  # one nginx message, one gap
    with Store(url) as store:
        store.record_unmatched([UNKNOWN_TO_KB, other_values, NOT_NGINX])
    assert gaps_command(10, "json", url) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["count"], r["catalog"] is not None) for r in rows] == [(2, True), (1, False)]
    assert rows[0]["catalog"]["format"] == 'upstream sent invalid status "%V"'
    assert gaps_command(10, "text", url) == 0
    flat = "".join(ch for ch in capsys.readouterr().out if ch.isalnum() or ch in '_"%')
    assert 'upstreamsentinvalidstatus"%V"' in flat and "ngx_http_fastcgi_module" in flat  # wrapped by the table


def test_kb_catalog_rebuilds_from_a_source_tree_and_refuses_anything_else(cli: list[str], tmp_path: Path) -> None:
    """`kb catalog` (the generator's front door) writes the data for a tree and says what a non-tree is."""
    import shutil

    from tests.conftest import DATA

    refused = _run(cli, "kb", "catalog", str(tmp_path), "--release", "fixture", "--commit", "0" * 40)
    assert refused.returncode == 1
    assert "not an nginx source tree (no src/core/nginx.c)" in refused.stderr
    tree = tmp_path / "tree"
    shutil.copytree(DATA / "catalog" / "src", tree / "src")
    (tree / "src" / "core").mkdir(parents=True, exist_ok=True)
    (tree / "src" / "core" / "nginx.c").write_text("/* the marker the command looks for */\n")
    out = tmp_path / "out"
    built = _run(cli, "kb", "catalog", str(tree), "--release", "fixture", "--commit", "0" * 40, "--out", str(out))
    assert built.returncode == 0, built.stderr
    assert "messages" in built.stdout and str(out) in built.stdout
    assert (out / "source.json").read_text(encoding="utf-8") == (DATA / "catalog" / "expected-source.json").read_text(
        encoding="utf-8"
    )
