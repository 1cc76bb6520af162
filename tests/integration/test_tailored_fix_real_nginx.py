"""Tailored fixes through the real parts, under bounded load on 127.0.0.1: a real nginx logs
the error, `nginx-triage diagnose` reads the real log, `nginx -T` and the other evidence,
its diff is applied with the real `patch -p0`, `nginx -t` passes, nginx reloads, and the same
load runs clean.

- a 413 fixed at the location that handled the upload (the upload then succeeds);
- a slow upstream fixed with proxy_read_timeout at its location (no more 504s);
- `proxy_pass http://localhost:PORT` with a backend on 127.0.0.1 only, in a mount namespace
  whose /etc/hosts is Debian's (localhost is ::1 and 127.0.0.1): no more refused connects.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.nginx_harness import NGINX, Nginx, free_port, running_nginx, slow_upstream

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if NGINX is None or shutil.which("patch") is None:
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx and patch (apt-get install nginx patch)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx and patch")
elif os.geteuid() != 0 and not REQUIRE:
    pytestmark = pytest.mark.skip(reason="the real-nginx fix tests patch files and reload nginx as root")

BASE = """worker_processes 1;
error_log {prefix}/logs/error.log notice;
pid {prefix}/nginx.pid;
events {
    worker_connections 256;
}
http {
    access_log off;
    include {prefix}/conf/sites/*.conf;
}
"""


def _site(ngx_prefix: Path, text: str) -> tuple[Path, int]:
    """The site file (included by ``BASE``) listening on a free 127.0.0.1 port; (file, port)."""
    sites = ngx_prefix / "conf" / "sites"
    sites.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = sites / "app.conf"
    site.write_text(text.replace("{port}", str(port)))
    return site, port


class _Upload(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(n, 1 << 20))
        body = b"stored\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def upload_backend(address: str = "127.0.0.1") -> Iterator[int]:
    """An HTTP backend on ``address`` (IPv4 only) that accepts any body."""
    server = _Server((address, 0), _Upload)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _request(port: int, host: str, method: str, path: str, body: bytes | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=body, headers={"Host": host})
        resp = conn.getresponse()
        resp.read()
        return str(resp.status)
    except OSError as exc:
        return type(exc).__name__
    finally:
        conn.close()


def _load(port: int, host: str, method: str, path: str, body: bytes | None, n: int, concurrency: int) -> Counter[str]:
    assert n <= 200 and concurrency <= 40, "keep load tests bounded"
    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(pool.map(lambda i: _request(port, host, method, f"{path}{i}", body), range(n)))


def _diagnose(cli: list[str], files: list[Path], fmt: str) -> str:
    proc = subprocess.run(
        [*cli, "diagnose", "--format", fmt, *map(str, files)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _fix(cli: list[str], ngx: Nginx, evidence: dict[str, str], tmp: Path) -> dict:
    """Diagnose the evidence, apply the diff with patch -p0, nginx -t, reload; the diagnosis."""
    folder = tmp / "evidence"
    folder.mkdir(exist_ok=True)
    files = []
    for name, text in evidence.items():
        (folder / name).write_text(text)
        files.append(folder / name)
    diagnosis = json.loads(_diagnose(cli, files, "json"))
    diff = _diagnose(cli, files, "diff")
    assert diff.startswith("--- "), diff
    patch = subprocess.run(
        ["patch", "-p0", "--forward"], input=diff, cwd="/", capture_output=True, text=True, timeout=30, check=False
    )
    assert patch.returncode == 0, patch.stdout + patch.stderr
    ngx.cmd("-t")
    ngx.reload_and_wait()
    return diagnosis


def _lines(ngx: Nginx, offset: int, needle: str) -> list[str]:
    return [line for line in ngx.log_lines_since(offset) if needle in line]


def test_413_upload_succeeds_after_the_fix_at_its_location(cli, tmp_path):
    with upload_backend() as up:
        site, port = _site(
            tmp_path / "nginx",
            f"""server {{
    listen 127.0.0.1:{{port}};
    server_name files.test;
    location / {{
        return 200 "home";
    }}
    location /upload/ {{
        client_max_body_size 4k;
        proxy_pass http://127.0.0.1:{up};
    }}
}}
""",
        )
        with running_nginx(tmp_path, BASE) as ngx:
            body = b"x" * 50_000
            before = _load(port, "files.test", "POST", "/upload/file", body, 40, 10)
            assert before == {"413": 40}, before
            log = "\n".join(ngx.log_lines_since(0)) + "\n"
            assert "client intended to send too large body: 50000 bytes" in log
            diagnosis = _fix(cli, ngx, {"error.log": log, "nginx-T.txt": ngx.dump_T()}, tmp_path)
            rec = next(r for r in diagnosis["recommendations"] if r["directive"] == "client_max_body_size")
            assert (rec["file"], rec["line"], rec["current"], rec["recommended"]) == (str(site), 8, "4k", "54k")
            assert rec["context"] == "http > server(files.test) > location /upload/"
            offset = ngx.error_log.stat().st_size
            after = _load(port, "files.test", "POST", "/upload/file", body, 40, 10)
            assert after == {"200": 40}, after
            assert not _lines(ngx, offset, "too large body")


def test_slow_upstream_fixed_with_the_read_timeout_at_its_location(cli, tmp_path):
    with slow_upstream(1.5) as up:
        site, port = _site(
            tmp_path / "nginx",
            f"""server {{
    listen 127.0.0.1:{{port}};
    server_name reports.test;
    location / {{
        proxy_pass http://127.0.0.1:{up};
    }}
    location /export/ {{
        proxy_pass http://127.0.0.1:{up};
        proxy_read_timeout 1s;
    }}
}}
""",
        )
        with running_nginx(tmp_path, BASE) as ngx:
            before = _load(port, "reports.test", "GET", "/export/r", None, 20, 10)
            assert before == {"504": 20}, before
            log = "\n".join(ngx.log_lines_since(0)) + "\n"
            assert "upstream timed out (110: Connection timed out) while reading response header" in log
            diagnosis = _fix(cli, ngx, {"error.log": log, "nginx-T.txt": ngx.dump_T()}, tmp_path)
            rec = next(r for r in diagnosis["recommendations"] if r["directive"] == "proxy_read_timeout")
            assert (rec["file"], rec["line"], rec["current"], rec["recommended"]) == (str(site), 9, "1s", "120s")
            assert rec["context"] == "http > server(reports.test) > location /export/"
            offset = ngx.error_log.stat().st_size
            after = _load(port, "reports.test", "GET", "/export/r", None, 20, 10)
            assert after == {"200": 20}, after
            assert not _lines(ngx, offset, "upstream timed out")


DEBIAN_HOSTS = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"


@contextmanager
def nginx_with_debian_hosts(tmp: Path, config_body: str) -> Iterator[Nginx]:
    """nginx started in a private mount namespace where /etc/hosts is Debian's (localhost is ::1
    and 127.0.0.1), as on a stock host; the master keeps that namespace across reloads."""
    assert NGINX is not None
    prefix = tmp / "nginx"
    for sub in ("logs", "conf", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "conf" / "nginx.conf"
    conf.write_text(config_body.replace("{port}", str(port)).replace("{prefix}", str(prefix)))
    hosts = tmp / "hosts"
    hosts.write_text(DEBIAN_HOSTS)
    ngx = Nginx(prefix, conf, port)
    script = f"mount --bind {hosts} /etc/hosts && exec {NGINX} -p {prefix} -c {conf}"
    subprocess.run(["unshare", "--mount", "sh", "-c", script], check=True, timeout=30, capture_output=True)
    try:
        deadline = time.monotonic() + 10
        while not ngx.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield ngx
    finally:
        try:
            os.kill(ngx.master_pid(), signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(ngx.master_pid(), 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass


def _namespace_output(tmp: Path, command: str) -> str:
    script = f"mount --bind {tmp / 'hosts'} /etc/hosts && {command}"
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    return f"$ {command}\n{proc.stdout}"


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux) for a private /etc/hosts")
def test_localhost_to_ipv4_ends_the_refused_connects(cli, tmp_path):
    with upload_backend("127.0.0.1") as up:
        site, port = _site(
            tmp_path / "nginx",
            f"""server {{
    listen 127.0.0.1:{{port}};
    server_name app.test;
    location / {{
        proxy_pass http://localhost:{up};
    }}
}}
""",
        )
        with nginx_with_debian_hosts(tmp_path, BASE) as ngx:
            offset0 = ngx.error_log.stat().st_size
            before = _load(port, "app.test", "GET", "/page", None, 40, 8)
            assert before == {"200": 40}, before  # nginx retries the next peer: users see 200s
            refused = _lines(ngx, offset0, "(111: Connection refused)")
            assert refused and all(f'upstream: "http://[::1]:{up}/' in line for line in refused), refused[:2]
            evidence = {
                "error.log": "\n".join(refused) + "\n",
                "nginx-T.txt": ngx.dump_T(),
                "getent.txt": _namespace_output(tmp_path, "getent ahosts localhost"),
                "ss.txt": "$ ss -ltnp\n" + subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout,
            }
            diagnosis = _fix(cli, ngx, evidence, tmp_path)
            assert "localhost-dual-stack" in {f["id"] for f in diagnosis["findings"]}
            assert "proxy-loop" not in {f["id"] for f in diagnosis["findings"]}
            rec = next(r for r in diagnosis["recommendations"] if r["directive"] == "proxy_pass")
            assert (rec["file"], rec["line"], rec["recommended"]) == (str(site), 5, f"http://127.0.0.1:{up}")
            offset = ngx.error_log.stat().st_size
            after = _load(port, "app.test", "GET", "/page", None, 40, 8)
            assert after == {"200": 40}, after
            assert not _lines(ngx, offset, "Connection refused")
