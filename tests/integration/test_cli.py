"""The installed `nginx-triage` command, run as a user runs it, from another directory."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

TMO = 120
LINE = (
    "2024/03/02 10:11:13 [alert] 2718#2718: *5512 1024 worker_connections are not enough "
    'while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /slow HTTP/1.1", '
    'upstream: "http://127.0.0.1:9000/slow", host: "127.0.0.1:8080"'
)


def run(cli, *args, stdin: bytes | None = None, cwd: Path | None = None):
    return subprocess.run(
        [*cli, *args], input=stdin, capture_output=True, timeout=TMO, cwd=cwd or Path("/"), check=False
    )


def assert_clean_error(proc, *words):
    err = proc.stderr.decode()
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_diagnose_json_contract(cli, tmp_path):
    log = tmp_path / "error.log"
    log.write_text((LINE + "\n") * 3 + "hello world\n")
    proc = run(cli, "diagnose", "--format", "json", str(log))
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    for key in ("matches", "unmatched_lines", "capacity", "recommendations", "commands", "findings", "needs"):
        assert key in d
    m = d["matches"][0]
    assert m["kb_id"] == "worker-connections-not-enough" and m["count"] == 3
    assert m["facts"]["worker_connections"] == "1024" and m["title"]
    assert d["unmatched_lines"] == 1
    assert all({"id", "severity", "message", "evidence"} <= set(f) for f in d["findings"])
    assert all({"evidence", "command", "why"} <= set(n) for n in d["needs"])
    assert {"nginx-T", "worker-limits"} <= {n["evidence"] for n in d["needs"]}
    assert all({"purpose", "command"} <= set(c) for c in d["commands"])


def test_diagnose_text_and_markdown_from_stdin(cli):
    for fmt, marker in (("text", "worker_connections"), ("markdown", "## 1.")):
        proc = run(cli, "diagnose", "--format", fmt, stdin=(LINE + "\n").encode())
        assert proc.returncode == 0, proc.stderr
        assert marker in proc.stdout.decode()


def test_match_jsonl_one_row_per_line(cli):
    proc = run(cli, "match", "--format", "jsonl", stdin=f"{LINE}\n\nGET / 200\n".encode())
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["line_no"] for r in rows] == [1, 2, 3]
    assert rows[0]["kb_id"] == "worker-connections-not-enough" and rows[0]["score"] == 1.0
    assert rows[1]["kb_id"] is None and rows[2]["kb_id"] is None
    assert set(rows[0]) >= {"line_no", "kb_id", "score", "facts"}


def test_empty_input(cli, tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert_clean_error(run(cli, "diagnose", str(empty)), "empty")
    assert_clean_error(run(cli, "diagnose", stdin=b""), "empty")


def test_binary_and_nul_bytes(cli, tmp_path):
    blob = tmp_path / "core"
    blob.write_bytes(bytes(range(256)) * 64)
    assert_clean_error(run(cli, "diagnose", str(blob)), "binary")
    nul = tmp_path / "nul.log"
    nul.write_bytes(LINE.encode() + b"\n\x00\x00\x00\n")
    assert_clean_error(run(cli, "diagnose", str(nul)), "NUL")


def test_directory_and_missing_file(cli, tmp_path):
    assert_clean_error(run(cli, "diagnose", str(tmp_path)), "is a directory")
    assert_clean_error(run(cli, "diagnose", str(tmp_path / "nope.log")), "no such file")
    assert_clean_error(run(cli, "match", str(tmp_path / "nope.log")), "no such file")


def test_usage_error_exits_2(cli):
    proc = run(cli, "diagnose", "--format", "yaml")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()


def test_invalid_utf8_and_megabyte_line_still_diagnosed(cli, tmp_path):
    log = tmp_path / "mixed.log"
    log.write_bytes(
        b"\xff\xfe garbage \xc3\x28\n"
        + b"A" * (1 << 20)
        + b"\n"
        + LINE.encode()
        + b" \xe9\xe9\n"
        + LINE.encode()
        + b"\n"
    )
    proc = run(cli, "diagnose", "--format", "json", str(log))
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["matches"][0]["kb_id"] == "worker-connections-not-enough"
    assert d["matches"][0]["count"] == 2
    assert d["lines"] == 4


def test_ask_json(cli):
    proc = run(cli, "ask", "why does a proxied request use two connections", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    a = json.loads(proc.stdout)
    assert a["id"] == "proxy-uses-two-connections" and a["confident"] is True
    assert a["answer"] and isinstance(a["alternatives"], list)
    proc = run(cli, "ask", "what is the airspeed of an unladen swallow", "--format", "json")
    a = json.loads(proc.stdout)
    assert a["id"] is None and a["confident"] is False and a["alternatives"]


def test_ask_into_a_pipe_prints_the_markdown_as_written(cli):
    proc = run(cli, "ask", "why does a proxied request use two connections")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "# Why does every proxied request use two worker_connections slots?"
    assert "1. the **client** connection" in proc.stdout.decode()  # Markdown, not a terminal layout
    assert not [ln for ln in lines if ln != ln.rstrip()], "no padding to a terminal width"
    assert lines[-1].startswith("  - ") and 'nginx-triage ask "' in lines[-1]


TWO_LINES = (
    "2026/11/01 10:11:12 [alert] 2719#2719: 1024 worker_connections are not enough\n"
    "2026/11/01 10:11:13 [crit] 2719#2719: *88 connect() to unix:/run/php/php-fpm.sock failed "
    "(2: No such file or directory) while connecting to upstream, client: 10.0.0.7, server: shop\n"
)

# What a log-only paste and ``ask`` never use (issue 11): the configuration side (crossplane,
# the router, the configuration model, the diff machinery), the catalogue and the fuzzy
# masks, the host evidence model, and stdlib modules only a rare path needs.
NOT_FOR_A_LOG_PASTE = [
    "bot.diagnosis.config_diff",
    "bot.diagnosis.diff_hunks",
    "bot.evidence.nginx_config.model",
    "bot.evidence.nginx_config.routing",
    "bot.evidence.system.model",
    "bot.knowledge.catalog.lookup",
    "bot.knowledge.catalog.pattern",
    "bot.matching.masking",
    "crossplane",
    "datetime",
    "difflib",
    "glob",
    "logging",
    "shlex",
    "traceback",
]


def test_everyday_commands_do_not_import_what_they_do_not_use(tmp_path):
    """Start-up is part of every call (issue 11): a confident ``ask`` into a pipe needs neither
    rich, Jinja2 nor rapidfuzz, a ``diagnose`` renders its texts from their cached trees
    without Jinja2 (in every format but Markdown), no command imports pydantic from the
    compiled KB or OpenSSL, tempfile and pickle.py to read its caches, and a two-line
    ``diagnose`` nothing of the configuration side."""
    unwanted_anywhere = ["pydantic", "yaml", "_hashlib", "hashlib", "tempfile", "shutil", "pickle"]
    watched = sorted({"jinja2", "json", "rapidfuzz", "rich", *unwanted_anywhere, *NOT_FOR_A_LOG_PASTE})
    code = (
        "import sys; from bot.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {watched!r} if m in sys.modules), file=sys.stderr)\n"
    )
    two_lines = tmp_path / "two.log"
    two_lines.write_text(TWO_LINES)
    python = str(ROOT / ".venv" / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "NGINX_TRIAGE_TEMPLATE_CHECK"}  # checking imports Jinja2
    for argv, unwanted in (
        (
            ["ask", "why does a proxied request use two connections"],
            # pickle.py: the caches are read with the C unpickler; json: an answer in text
            ["jinja2", "json", "rapidfuzz", "rich", *unwanted_anywhere, *NOT_FOR_A_LOG_PASTE],
        ),
        (
            ["diagnose", "--format", "json", str(two_lines)],
            ["jinja2", "rich", *unwanted_anywhere, *NOT_FOR_A_LOG_PASTE],
        ),
        (
            ["diagnose", "--format", "json", str(ROOT / "examples" / "worker-connections" / "error.log")],
            ["jinja2", "rich", *unwanted_anywhere],
        ),
        (  # the terminal text needs rich (which imports pickle), not the Slack renderers or Jinja2
            ["diagnose", str(ROOT / "examples" / "worker-connections" / "error.log")],
            ["jinja2", *(m for m in unwanted_anywhere if m != "pickle")],
        ),
    ):
        for _warm_then_measure in range(2):  # the first run may build the KB cache from the YAML
            proc = subprocess.run([python, "-c", code, *argv], capture_output=True, check=False, cwd=tmp_path, env=env)
        imported = ast.literal_eval(proc.stderr.decode().strip().splitlines()[-1])
        assert not set(imported) & set(unwanted), f"{argv[0]} imported {imported}"


def test_cache_keys_and_parsing_load_neither_openssl_nor_tempfile(tmp_path):
    """The KB and FAQ caches' keys and the redaction memo hash with the builtin BLAKE2
    (``bot.hashing``), reading a cache never writes one, and argparse parses without setting
    up its help formatter: none of that imports ``_hashlib`` (OpenSSL), ``tempfile`` or
    ``shutil`` (issue 11)."""
    code = (
        "import sys\n"
        "from bot.cli.args import build_parser\n"
        "from bot.evidence.redaction import CLEAN_TEXTS\n"
        "from bot.faq.index_cache import index_file\n"
        "from bot.knowledge.kb_cache import fingerprint\n"
        "from bot.knowledge.loader import kb_dirs_from_env\n"
        "from bot.knowledge.pickle_cache import read_cached\n"
        "build_parser(['ask']).parse_args(['ask', 'q'])\n"
        "build_parser(['diagnose']).parse_args(['diagnose', '--format', 'json', 'x.log'])\n"
        "index_file(fingerprint(kb_dirs_from_env()))\n"
        "CLEAN_TEXTS.holds('x' * 20000)\n"
        "read_cached(__import__('pathlib').Path('missing.pickle'), b'm', 'k', object)\n"
        "print(sorted(m for m in ('_hashlib', 'hashlib', 'pickle', 'shutil', 'tempfile') if m in sys.modules))\n"
    )
    python = str(ROOT / ".venv" / "bin" / "python")
    proc = subprocess.run([python, "-c", code], capture_output=True, check=True, cwd=tmp_path)
    assert ast.literal_eval(proc.stdout.decode().strip()) == []


def test_kb_lint_passes(cli):
    proc = run(cli, "kb", "lint")
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]


def test_python_dash_m_works_from_any_directory(tmp_path):
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot", "match"],
        input=(LINE + "\n").encode(),
        capture_output=True,
        cwd=tmp_path,
        timeout=TMO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kb_id"] == "worker-connections-not-enough"


@pytest.mark.slow
def test_wheel_carries_the_knowledge_base(tmp_path):
    import zipfile

    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    wheel = next(tmp_path.glob("nginx_triage-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/kb_data/errors/worker-connections-not-enough.yaml" in names
    assert "bot/kb_data/evidence.yaml" in names
    assert any(n.startswith("bot/kb_data/faq/") for n in names)
    assert "bot/render/templates/diagnosis.md.j2" in names


@pytest.mark.parametrize("dump", ["truncated.txt", "unbalanced.txt", "binary-junk.txt", "missing-include.txt"])
def test_malformed_dump_is_reported_and_the_rest_still_diagnosed(cli, tmp_path, dump):
    from tests.conftest import DATA

    log = tmp_path / "error.log"
    log.write_text(LINE + "\n")
    proc = run(cli, "diagnose", "--format", "json", str(log), str(DATA / "nginx-T" / dump))
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["matches"][0]["kb_id"] == "worker-connections-not-enough"
    assert d["problems"], "the damage in the dump must be reported"
    assert any(re.search(r"/\S+:\d+", p) for p in d["problems"]), d["problems"]


def test_mixed_paste_on_stdin_reads_every_kind(cli):
    paste = (
        LINE + "\n\n$ sudo nginx -T\n"
        "# configuration file /etc/nginx/nginx.conf:\nworker_processes 2;\n"
        "events {\n    worker_connections 1024;\n}\nhttp {\n    server {\n        listen 80;\n"
        "        location / { proxy_pass http://127.0.0.1:9000; }\n    }\n}\n\n"
        "$ cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits\n"
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 524288               files     \n"
        "$ nproc\n2\n"
    )
    proc = run(cli, "diagnose", "--format", "json", "--target-concurrency", "3000", stdin=paste.encode())
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert {"error-log", "nginx-T", "worker-limits", "nproc"} <= set(d["evidence"])
    recs = {r["directive"]: r for r in d["recommendations"]}
    assert recs["worker_connections"]["file"] == "/etc/nginx/nginx.conf"
    assert recs["worker_connections"]["line"] == 3
    assert int(recs["worker_rlimit_nofile"]["recommended"]) >= int(recs["worker_connections"]["recommended"])
    assert d["capacity"]["fd_limit_per_worker"] == 1024
    assert d["target_concurrency"]["value"] == 3000
    assert "fd-limit-below-connections" not in {f["id"] for f in d["findings"]}
    diff = run(cli, "diagnose", "--format", "diff", "--target-concurrency", "3000", stdin=paste.encode())
    assert diff.returncode == 0 and diff.stdout.decode().startswith("--- etc/nginx/nginx.conf")


def test_diff_without_config_says_what_to_paste(cli):
    proc = run(cli, "diagnose", "--format", "diff", stdin=(LINE + "\n").encode())
    assert_clean_error(proc, "nginx -T")
