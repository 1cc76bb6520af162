"""A real `nginx-triage serve` process starts while its database and Slack are unreachable,
serves /healthz at once, says in /readyz why it is not ready, and becomes ready on its own
when both start answering (a TCP relay to the real PostgreSQL, then the fake Slack Web API,
switched on later)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes.serve_harness import ServeProcess
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


def test_ready_once_the_database_answers(tmp_path: Path) -> None:
    if not _postgres_up():
        if REQUIRE:
            raise AssertionError("PostgreSQL is required at 127.0.0.1:5432 in CI")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    db_port, slack_port = free_port(), free_port()
    serve = ServeProcess.start(
        {
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{db_port}/test?connect_timeout=2",
            "SLACK_SIGNING_SECRET": "readiness-secret",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
            "NGINX_TRIAGE_STATE_DIR": str(tmp_path),
        },
        tmp_path,
    )
    try:
        assert serve.wait_for("/healthz", 200, 30) is not None
        report = json.loads(serve.wait_for("/readyz", 503, 10))
        assert isinstance(report, dict) and any("store" in str(r) for r in report["reasons"]), report
        assert "password" not in json.dumps(report)
        with tcp_relay(db_port, 5432):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                report = serve.get_json("/readyz")[1]
                if isinstance(report, dict) and all(str(r).startswith("slack") for r in report["reasons"]):
                    break  # the store answers and the workers are up; only Slack is missing
                time.sleep(0.2)
            assert isinstance(report, dict) and report["ready"] is False
            assert [r for r in report["reasons"] if str(r).startswith("slack")] == report["reasons"], report
            slack = FakeSlack(port=slack_port).start()
            try:
                report = json.loads(serve.wait_for("/readyz", 200, 30))
                assert isinstance(report, dict) and report["ready"] is True
            finally:
                slack.stop()
        assert serve.proc.poll() is None, "the process must stay up throughout"
    finally:
        code = serve.terminate()
    assert code == 0, serve.log_tail()
