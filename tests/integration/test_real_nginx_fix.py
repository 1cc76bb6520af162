"""Through the real parts: a real nginx on 127.0.0.1 with a slow upstream reproduces the alert
under bounded load; the real error log, `nginx -T` and a worker's /proc/PID/limits go to
`nginx-triage diagnose`; its diff is applied with the real `patch -p0`; `nginx -t`, reload,
the same load again, and the alert is gone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.nginx_harness import NGINX, load, running_nginx, slow_upstream

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if NGINX is None or shutil.which("patch") is None:
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx and patch (apt-get install nginx patch)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx and patch: run `make test` as root to install them")
elif os.geteuid() != 0 and not REQUIRE:
    pytestmark = pytest.mark.skip(reason="the real-nginx fix tests patch files and reload nginx as root")

CONCURRENCY = 40
REQUESTS = 80

CONF = """worker_processes 1;
RLIMIT
error_log {prefix}/logs/error.log notice;
pid {prefix}/nginx.pid;
events {
    worker_connections CONNECTIONS;
}
http {
    access_log off;
    upstream app {
        server 127.0.0.1:UPSTREAM;
    }
    server {
        listen 127.0.0.1:{port};
        location / {
            proxy_pass http://app;
        }
    }
}
"""
SLOTS_CONF = CONF.replace("RLIMIT\n", "").replace("CONNECTIONS", "16")
FDS_CONF = CONF.replace("RLIMIT", "worker_rlimit_nofile 32;").replace("CONNECTIONS", "1024")


def _diagnose(cli: list[str], files: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "diagnose", *args, *map(str, files)], capture_output=True, text=True, timeout=120, check=False
    )


def _reproduce_diagnose_fix(cli, tmp_path: Path, conf: str, alert: str, kb_id: str, want_findings: set[str]) -> dict:
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    with slow_upstream(0.5) as up, running_nginx(tmp_path, conf.replace("UPSTREAM", str(up))) as ngx:
        before = load(ngx.port, REQUESTS, CONCURRENCY)
        assert before.get("200", 0) < REQUESTS, f"the load did not hit the limit: {before}"
        log_before = "\n".join(ngx.log_lines_since(0))
        assert alert in log_before, log_before[-2000:]

        (evidence_dir / "error.log").write_text(log_before + "\n")
        (evidence_dir / "nginx-T.txt").write_text(ngx.dump_T())
        (evidence_dir / "limits.txt").write_text(ngx.worker_limits())
        files = sorted(evidence_dir.iterdir())

        proc = _diagnose(cli, files, "--format", "json", "--target-concurrency", str(CONCURRENCY))
        assert proc.returncode == 0, proc.stderr
        diagnosis = json.loads(proc.stdout)
        assert kb_id in {m["kb_id"] for m in diagnosis["matches"]}
        assert want_findings <= {f["id"] for f in diagnosis["findings"]}, diagnosis["findings"]
        for rec in diagnosis["recommendations"]:
            assert rec["file"] == str(ngx.conf), rec
        assert {"nginx-T", "worker-limits", "error-log"} <= set(diagnosis["evidence"])

        diff = _diagnose(cli, files, "--format", "diff", "--target-concurrency", str(CONCURRENCY))
        assert diff.returncode == 0, diff.stderr
        assert diff.stdout.startswith("--- " + str(ngx.conf).lstrip("/")), diff.stdout
        patch = subprocess.run(
            ["patch", "-p0", "--forward"],
            input=diff.stdout,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert patch.returncode == 0, patch.stdout + patch.stderr
        ngx.cmd("-t")
        offset = ngx.error_log.stat().st_size
        ngx.reload_and_wait()

        after = load(ngx.port, REQUESTS, CONCURRENCY)
        new_lines = ngx.log_lines_since(offset)
        assert after == {"200": REQUESTS}, after
        assert not [line for line in new_lines if alert in line], new_lines[-20:]
        return diagnosis


def test_worker_connections_alert_is_fixed(cli, tmp_path):
    diagnosis = _reproduce_diagnose_fix(
        cli, tmp_path, SLOTS_CONF, "worker_connections are not enough", "worker-connections-not-enough", set()
    )
    recs = {r["directive"]: r for r in diagnosis["recommendations"]}
    assert recs["worker_connections"]["current"] == "16"
    assert recs["worker_connections"]["line"] == 5
    assert int(recs["worker_connections"]["recommended"]) >= 2 * CONCURRENCY + 2
    assert diagnosis["capacity"]["worker_connections"] == 16
    assert diagnosis["capacity"]["max_proxied_requests"] == 7  # (16 - 1 listener - 1 channel) // 2


def test_too_many_open_files_is_fixed(cli, tmp_path):
    diagnosis = _reproduce_diagnose_fix(
        cli, tmp_path, FDS_CONF, "(24: Too many open files)", "too-many-open-files", {"fd-limit-below-connections"}
    )
    recs = {r["directive"]: r for r in diagnosis["recommendations"]}
    assert recs["worker_rlimit_nofile"]["current"] == "32"
    assert int(recs["worker_rlimit_nofile"]["recommended"]) >= 1024
    assert diagnosis["capacity"]["fd_limit_per_worker"] == 32
