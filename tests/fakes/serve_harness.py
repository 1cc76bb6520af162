"""``nginx-triage serve`` as a real process, the way it is deployed: start it, poll its
health endpoints (bounded), read its logs and metrics, stop it with SIGTERM or kill it.

The one harness for every test and benchmark that needs a serving process. The process is
the installed console script on a free 127.0.0.1 port, in its own session (so ``kill``
takes its turn workers with it), with its JSON log lines written to a file (a pipe nobody
reads could fill up and stall it). Its environment is the caller's without any
``SLACK_*``, ``DATABASE_URL`` or ``NGINX_TRIAGE_*`` variable, plus what the caller passes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.integration.nginx_harness import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.1
OWN_PREFIXES = ("SLACK_", "DATABASE_URL", "NGINX_TRIAGE_")
"""Variables the serving process only gets from the caller, never from the environment the tests run in."""


def serve_command() -> list[str]:
    """The installed console script, as a user runs it."""
    exe = ROOT / ".venv" / "bin" / "nginx-triage"
    found = str(exe) if exe.exists() else shutil.which("nginx-triage")
    assert found, "nginx-triage is not installed: run `make setup`"
    return [found, "serve"]


def http_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    """HTTP mode against ``fake`` with the test tokens and ``database_url``; ``extra`` on top."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        **extra,
    }


@dataclass
class ServeProcess:
    """One running ``nginx-triage serve``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls, env: Mapping[str, str], log_dir: Path, name: str = "serve", *, nofile: int | None = None
    ) -> ServeProcess:
        """Start it (without waiting); ``env`` holds its SLACK_* / DATABASE_URL / NGINX_TRIAGE_* settings.
        ``nofile``: run it under that open-file limit (``ulimit -n`` in the spawning shell, as
        systemd's default of 1,024 would)."""
        port = free_port()
        command = [*serve_command(), "--host", "127.0.0.1", "--port", str(port)]
        if nofile is not None:
            command = ["/bin/sh", "-c", f'ulimit -n {int(nofile)} && exec "$@"', "sh", *command]
        base = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        log = log_dir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command,
                env={**base, **env},
                stdout=subprocess.DEVNULL,
                stderr=out,
                start_new_session=True,
            )
        return cls(name, port, proc, log)

    # -- asking it ------------------------------------------------------------------------------------

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """GET ``path``: (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def get_json(self, path: str, timeout: float = 5.0) -> tuple[int, Any]:
        """GET ``path``: (status, parsed JSON body)."""
        status, body = self.get(path, timeout)
        return status, json.loads(body)

    def metrics(self) -> dict[str, float]:
        """Every sample of /metrics: ``name{labels}`` -> value."""
        status, text = self.get("/metrics")
        assert status == 200
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                out[series] = float(value)
        return out

    def wait_for(self, path: str, status: int, timeout: float = START_TIMEOUT_S) -> str:
        """Poll ``path`` (bounded) until it answers ``status``; its body. Fails at once if the process exits."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
            try:
                got, body = self.get(path, timeout=2)
                if got == status:
                    return body
                last = f"{got} {body}"
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(POLL_S)
        raise AssertionError(
            f"{self.name}: {path} never answered {status} within {timeout} s; last: {last}\n{self.log_tail()}"
        )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until /readyz is 200: database, KB, turn workers and Slack all answer."""
        self.wait_for("/readyz", 200, timeout)

    # -- its logs -------------------------------------------------------------------------------------

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines it wrote (anything else on stderr is skipped)."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # -- stopping it ----------------------------------------------------------------------------------

    def terminate(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, as systemd or Kubernetes send it; its exit code (killed with its workers after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"{self.name} did not stop within {timeout} s of SIGTERM\n{self.log_tail()}"
                ) from None
        return int(self.proc.returncode)

    def kill(self) -> None:
        """SIGKILL it and its turn workers, as when its machine or pod dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Clean up after a test: SIGTERM and expect exit code 0 if it still runs; no process left behind."""
        if self.proc.poll() is None:
            code = self.terminate()
            assert code == 0, f"{self.name} exited with {code} after SIGTERM:\n{self.log_tail()}"
            return
        # Its workers may outlive a killed parent by a moment; make sure none is left.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
