"""Run a real nginx (Debian package) on 127.0.0.1 with a slow upstream and bounded load.

Used by the integration tests that reproduce an alert, diagnose it with the real log,
`nginx -T` and a worker's /proc/PID/limits, apply the proposed diff and show the alert
is gone. Everything binds to 127.0.0.1 on ports the kernel hands out; every loop is
bounded in count and time; nginx is stopped however the test ends.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    delay = 1.0
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


@contextmanager
def slow_upstream(delay: float = 1.0) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 that answers every GET after ``delay`` seconds."""
    handler = type("Handler", (_SlowHandler,), {"delay": delay})
    server = _ThreadingServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Nginx:
    """One nginx instance under ``prefix`` with its config at ``conf``."""

    prefix: Path
    conf: Path
    port: int

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert NGINX is not None
        return subprocess.run(
            [NGINX, "-p", str(self.prefix), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def master_pid(self) -> int:
        return int((self.prefix / "nginx.pid").read_text().strip())

    def worker_pids(self) -> list[int]:
        """Current workers of this master, newest last (``ps --ppid``, as users are told)."""
        out = subprocess.run(
            ["ps", "-o", "pid=,cmd=", "--ppid", str(self.master_pid())],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        return sorted(
            int(line.split()[0])
            for line in out.splitlines()
            if "worker process" in line and "shutting down" not in line
        )

    def dump_T(self) -> str:
        proc = self.cmd("-T")
        return proc.stderr + proc.stdout

    def worker_limits(self) -> str:
        return Path(f"/proc/{self.worker_pids()[-1]}/limits").read_text()

    def reload_and_wait(self, timeout: float = 10.0) -> None:
        """``nginx -s reload``, then wait until only new-generation workers remain."""
        old = set(self.worker_pids())
        self.cmd("-s", "reload")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = set(self.worker_pids())
            if now and not (now & old):
                return
            time.sleep(0.1)
        raise TimeoutError(f"old workers {old} still running {timeout}s after reload")

    def log_lines_since(self, offset: int) -> list[str]:
        with self.error_log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace").splitlines()


@contextmanager
def running_nginx(tmp: Path, config_body: str) -> Iterator[Nginx]:
    """Start nginx with ``config_body`` (``{port}`` and ``{prefix}`` are filled in)."""
    assert NGINX is not None, "nginx is not installed"
    prefix = tmp / "nginx"
    for sub in ("logs", "conf", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "conf" / "nginx.conf"
    conf.write_text(config_body.replace("{port}", str(port)).replace("{prefix}", str(prefix)))
    ngx = Nginx(prefix, conf, port)
    ngx.cmd("-t")
    ngx.cmd()
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


def load(port: int, requests: int, concurrency: int, timeout: float = 15.0) -> Counter[str]:
    """``requests`` GETs from ``concurrency`` threads; returns outcome counts (status or error)."""
    assert requests <= 2000 and concurrency <= 200, "keep load tests bounded"

    def get(i: int) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/item/{i}", timeout=timeout) as r:
                return str(r.status)
        except urllib.error.HTTPError as exc:
            return str(exc.code)
        except (OSError, urllib.error.URLError) as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(pool.map(get, range(requests)))
