"""Promises kept by whole processes: the same input gives byte-identical output, and the
offline commands (`diagnose`, `ask`, `chat`) work with no network at all (issue 13, item 7).

Each pair of runs uses a different PYTHONHASHSEED, so output that leans on set or hash
order shows up as a difference instead of passing by luck.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "worker-connections"
FILES = [str(EXAMPLE / "error.log"), str(EXAMPLE / "nginx-T.txt"), str(EXAMPLE / "worker-limits.txt")]
LINE = "2026/12/01 10:00:02 [crit] 12³5#1235: accept4() failed (24: Too many open files)\n"
QUESTION = "why does a proxied request use two connections"
TMO = 120

RUNS = {
    "diagnose-json": (["diagnose", "--format", "json", *FILES], None),
    "diagnose-text": (["diagnose", "--format", "text", *FILES], None),
    "diagnose-markdown": (["diagnose", "--format", "markdown", *FILES], None),
    "diagnose-diff": (["diagnose", "--format", "diff", *FILES], None),
    "match-jsonl": (["match", "--format", "jsonl", str(EXAMPLE / "error.log")], None),
    "match-text": (["match", "--format", "text", "-"], (LINE * 3).encode()),
    "ask-json": (["ask", QUESTION, "--format", "json"], None),
    "ask-text": (["ask", QUESTION], None),
    "chat": (["chat"], (Path(FILES[0]).read_text() + "\n" + LINE + "quit\n").encode()),
}


def _run(cmd: list[str], stdin: bytes | None, seed: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "100", "DATABASE_URL": f"sqlite:///{cwd}/x.db"}
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=TMO, cwd=cwd, env=env, check=False)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_same_input_gives_byte_identical_output(cli, name, tmp_path):
    args, stdin = RUNS[name]
    first = _run([*cli, *args], stdin, "1", tmp_path)
    second = _run([*cli, *args], stdin, "2", tmp_path)
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout, "nothing printed: the comparison would prove nothing"
    assert first.stdout == second.stdout, f"{name}: stdout differs between two runs of the same input"
    assert first.stderr == second.stderr


def _unshare() -> list[str]:
    """``unshare -n`` when this machine lets us make a network namespace; else skip with the reason."""
    exe = shutil.which("unshare")
    if exe is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run([exe, "-n", "--", "true"], capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"CI runs as root, so `unshare -n` must work here: {probe.stderr.strip()}")
        pytest.skip(f"`unshare -n` is not permitted here ({probe.stderr.strip()}); CI runs it as root")
    return [exe, "-n", "--"]


@pytest.mark.parametrize("name", ["diagnose-json", "diagnose-text", "ask-json", "ask-text", "chat"])
def test_offline_commands_work_with_no_network(cli, name, tmp_path):
    unshare = _unshare()
    args, stdin = RUNS[name]
    proc = _run([*unshare, *cli, *args], stdin, "0", tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    online = _run([*cli, *args], stdin, "0", tmp_path)
    assert proc.stdout == online.stdout  # nothing it prints depended on the network
    no_net = subprocess.run([*unshare, "python3", "-c", _CONNECT], capture_output=True, timeout=30, check=False)
    assert no_net.returncode == 0, "the namespace still had a network: the test would prove nothing"


_CONNECT = """
import socket, sys
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
except OSError:
    sys.exit(0)
sys.exit(1)
"""
