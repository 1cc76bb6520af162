"""A real `nginx-triage serve` process starts while its database and Slack are unreachable,
serves /healthz at once, says in /readyz why it is not ready, and becomes ready on its own
when both start answering (a TCP relay to the real PostgreSQL, then the fake Slack Web API,
switched on later)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from tests.conftest import ROOT
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack
from tests.integration.nginx_harness import free_port

REQUIRE = os.environ.get("CI") == "true" or os.environ.get("NGINX_TRIAGE_REQUIRE_POSTGRES") == "1"


def _postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def tcp_relay(listen_port: int, target_port: int) -> Iterator[None]:
    """Forward 127.0.0.1:listen_port to 127.0.0.1:target_port until the block ends."""
    server = socket.create_server(("127.0.0.1", listen_port))
    server.settimeout(0.2)
    stop = threading.Event()

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while not stop.is_set():
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with suppress(OSError):
                    s.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)


def _get(port: int, path: str) -> tuple[int, dict[str, object] | str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            body = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def _wait(port: int, path: str, status: int, seconds: float) -> dict[str, object] | str:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            got, body = _get(port, path)
            if got == status:
                return body
            last = (got, body)
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{path} never answered {status} within {seconds}s; last: {last}")


def test_ready_once_the_database_answers(tmp_path):
    if not _postgres_up():
        if REQUIRE:
            raise AssertionError("PostgreSQL is required at 127.0.0.1:5432 in CI")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    db_port, http_port, slack_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{db_port}/test?connect_timeout=2",
        "SLACK_SIGNING_SECRET": "readiness-secret",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        "NGINX_TRIAGE_STATE_DIR": str(tmp_path),
    }
    env.pop("SLACK_APP_TOKEN", None)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "nginx-triage"), "serve", "--host", "127.0.0.1", "--port", str(http_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait(http_port, "/healthz", 200, 30) is not None
        report = _wait(http_port, "/readyz", 503, 10)
        assert isinstance(report, dict) and any("store" in str(r) for r in report["reasons"]), report
        assert "password" not in json.dumps(report)
        with tcp_relay(db_port, 5432):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                report = _get(http_port, "/readyz")[1]
                if isinstance(report, dict) and all(str(r).startswith("slack") for r in report["reasons"]):
                    break  # the store answers and the workers are up; only Slack is missing
                time.sleep(0.2)
            assert isinstance(report, dict) and report["ready"] is False
            assert [r for r in report["reasons"] if str(r).startswith("slack")] == report["reasons"], report
            slack = FakeSlack(port=slack_port).start()
            try:
                report = _wait(http_port, "/readyz", 200, 30)
                assert isinstance(report, dict) and report["ready"] is True
            finally:
                slack.stop()
        assert proc.poll() is None, "the process must stay up throughout"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
