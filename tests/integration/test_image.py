"""The container image as users run it: built from deploy/Dockerfile (deploy/image/build.sh,
which .ci/run calls), started with podman, read-only root, non-root user, host network, and
talked to over 127.0.0.1 only: kb lint, diagnose with the C accelerator, serve's /healthz and
/readyz, and one signed conversation through the fake Slack Web API.

Skipped with the reason where podman or the image is missing; NGINX_TRIAGE_REQUIRE_IMAGE=1
(set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_slack import BOT_TOKEN, BOT_USER, SIGNING_SECRET, FakeSlack, event_body, sign
from tests.integration.nginx_harness import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "worker-connections"
IMAGE = os.environ.get("NGINX_TRIAGE_IMAGE", "localhost/nginx-triage:ci")
APP_UID = "10001"
CHANNEL = "C0IMAGE1"
WAIT_S = 60.0

# runc + cgroupfs: no systemd here; the ulimits are values this kind of sandbox allows.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
# What deploy/Dockerfile documents: read-only root, a tmpfs for /tmp, the state directory on
# a volume (an anonymous one here, removed with the container; it takes the image's owner).
LOCKED_DOWN = ["--read-only", "--tmpfs", "/tmp", "-v", "/var/lib/nginx-triage", "--network", "host", *LIMITS]

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman runc)"
    found = subprocess.run([*PODMAN, "image", "exists", IMAGE], capture_output=True, timeout=60)
    if found.returncode != 0:
        return f"image {IMAGE} is not built: run deploy/image/build.sh"
    return None


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    reason = _missing()
    if reason:
        if os.environ.get("NGINX_TRIAGE_REQUIRE_IMAGE") == "1":
            pytest.fail(reason)
        pytest.skip(f"{reason}; set NGINX_TRIAGE_REQUIRE_IMAGE=1 to make this a failure")
    return IMAGE


def run(*args: str, entrypoint: str | None = None, mounts: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """One locked-down container run of the image; its output and exit code."""
    cmd = [*PODMAN, "run", "--rm", *LOCKED_DOWN, *(mounts or [])]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return subprocess.run([*cmd, IMAGE, *args], capture_output=True, text=True, timeout=180)


def test_runs_as_the_unprivileged_user() -> None:
    out = run("-c", "import os; print(os.getuid(), os.getgid())", entrypoint="python")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [APP_UID, APP_UID]


def test_root_filesystem_is_read_only() -> None:
    code = "import pathlib\ntry:\n    pathlib.Path('/opt/x').write_text('x')\nexcept OSError as e:\n    print(e.errno)"
    out = run("-c", code, entrypoint="python")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in {"13", "30"}  # EACCES (non-root) or EROFS (read-only)


def test_kb_lint_passes_inside_the_image() -> None:
    out = run("kb", "lint")
    assert out.returncode == 0, out.stdout + out.stderr


def test_diagnose_uses_the_native_path_and_matches_the_host() -> None:
    native = run("-c", "from bot.native import fastscan; print(fastscan is not None)", entrypoint="python")
    assert native.stdout.strip() == "True", native.stderr
    files = ["error.log", "nginx-T.txt", "worker-limits.txt"]
    inside = run(
        "diagnose",
        "--format",
        "json",
        *[f"/in/{f}" for f in files],
        mounts=["-v", f"{EXAMPLE}:/in:ro"],
    )
    assert inside.returncode == 0, inside.stderr
    host = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "nginx-triage"),
            "diagnose",
            "--format",
            "json",
            *[str(EXAMPLE / f) for f in files],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert host.returncode == 0, host.stderr
    got, want = json.loads(inside.stdout), json.loads(host.stdout)
    assert [m["kb_id"] for m in got["matches"]] == [m["kb_id"] for m in want["matches"]]
    assert got["recommendations"] == want["recommendations"]
    assert got["diff"].replace("/in/", "") == want["diff"].replace(str(EXAMPLE) + "/", "")


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture
def served(fake: FakeSlack) -> Iterator[tuple[int, str]]:
    """`serve` in the locked-down container on a free 127.0.0.1 port, against the fake Slack."""
    port = free_port()
    name = f"nginx-triage-test-{uuid.uuid4().hex[:8]}"
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "PORT": str(port),
    }
    cmd = [*PODMAN, "run", "-d", "--name", name, *LOCKED_DOWN]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    started = subprocess.run([*cmd, IMAGE, "serve", "--host", "127.0.0.1"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        yield port, name
    finally:
        subprocess.run([*PODMAN, "stop", "-t", "20", name], capture_output=True, timeout=60)
        logs = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True, timeout=60)
        subprocess.run([*PODMAN, "rm", "-f", "-v", name], capture_output=True, timeout=60)
        assert BOT_TOKEN not in logs.stdout + logs.stderr
        assert SIGNING_SECRET not in logs.stdout + logs.stderr


def test_serve_answers_health_readiness_and_a_signed_conversation(served: tuple[int, str], fake: FakeSlack) -> None:
    port, name = served
    deadline = time.monotonic() + WAIT_S
    status = 0
    while time.monotonic() < deadline:
        try:
            status, _ = _get(port, "/readyz")
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.25)
    assert status == 200, "serve in the container never became ready"
    assert _get(port, "/healthz")[0] == 200
    # The image's own HEALTHCHECK command, run the way the container runtime runs it.
    health = subprocess.run([*PODMAN, "healthcheck", "run", name], capture_output=True, text=True, timeout=60)
    assert health.returncode == 0, health.stdout + health.stderr

    root = "1800000900.000100"
    alert = (EXAMPLE / "error.log").read_text().splitlines()[:10]
    event = {
        "type": "app_mention",
        "user": "U0HUMAN1",
        "text": f"<@{BOT_USER}> help:\n```\n" + "\n".join(alert) + "\n```",
        "ts": root,
        "channel": CHANNEL,
        "event_ts": root,
    }
    body = event_body(event, "EvImage1")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST", "/slack/events", body=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
    )
    assert conn.getresponse().status == 200
    conn.close()
    replies = fake.wait_for(lambda: fake.thread_messages(CHANNEL, root), WAIT_S, "the bot's reply in the thread")
    text = replies[0].text + json.dumps(replies[0].blocks)
    assert "worker_connections are not enough" in text
