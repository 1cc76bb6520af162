"""`nginx-triage chat`: the whole conversation in a terminal, from piped input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from bot.cli.chat import run_chat

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "worker-connections"
ALERT_LOG = (EXAMPLE / "error.log").read_text()
NGINX_T = (EXAMPLE / "nginx-T.txt").read_text()
WORKER_LIMITS = (EXAMPLE / "worker-limits.txt").read_text()

TEST_FAILED = (
    'nginx: [emerg] unknown directive "worker_conections" in /tmp/ngx/nginx.conf:5\n'
    "nginx: configuration file /tmp/ngx/nginx.conf test failed\n"
)
TEST_OK = (
    "nginx: the configuration file /tmp/ngx/nginx.conf syntax is ok\n"
    "nginx: configuration file /tmp/ngx/nginx.conf test is successful\n"
)


def script() -> str:
    """What a user types: pastes end with a blank line, buttons by number or word."""
    messages = [
        ALERT_LOG.strip(),
        NGINX_T.strip() + "\n" + WORKER_LIMITS.strip(),
        "1",  # Walk me through it
        "done",  # step 1
        "done",  # step 2
        "paste",  # step 3: paste the test output
        TEST_FAILED.strip(),
        TEST_OK.strip(),
        "done",  # step 4 (reload)
        "explain",  # step 5
        WORKER_LIMITS.strip(),
        "why does a proxied request use two connections?",
        "helpful",
    ]
    return "\n\n".join(messages) + "\n"


def run(stdin: str, out_dir: Path) -> tuple[int, str]:
    buf = io.StringIO()
    console = Console(file=buf, width=120, color_system=None, force_terminal=False)
    from bot.knowledge.loader import load_kb
    from bot.matching.matcher import Matcher

    kb = load_kb()
    code = run_chat(kb, Matcher(kb), io.StringIO(stdin), console, out_dir=out_dir)
    return code, buf.getvalue()


def test_whole_conversation_from_piped_input(tmp_path):
    code, out = run(script(), tmp_path)
    assert code == 0
    assert "Still needed" in out and "sudo nginx -T 2>&1" in out
    assert "/tmp/ngx/nginx.conf:5" in out
    assert "+    worker_connections 1024;" in out  # the diff is printed
    diff = tmp_path / "nginx-triage-fix.diff"
    assert diff.exists() and "+    worker_connections 1024;" in diff.read_text()
    assert f"saved as {diff}" in out
    assert "Step 1 of 5" in out and "Step 5 of 5" in out
    assert "Step 3 not passed yet" in out and "unknown directive" in out
    assert "Step 3 passed" in out
    assert "Why step 5" in out
    assert "Step 5 passed" in out and "All 5 steps done" in out
    assert "proxied request" in out.lower()
    assert "Thanks, noted" in out
    assert out.index("Step 3 not passed yet") < out.index("Step 3 passed") < out.index("All 5 steps done")


def test_numbered_choices_are_shown(tmp_path):
    _, out = run(ALERT_LOG, tmp_path)
    assert "1) Walk me through it" in out and "4) Get a human" in out


def test_fenced_paste_keeps_blank_lines_and_quit_leaves(tmp_path):
    fenced = "```\n" + ALERT_LOG.strip() + "\n\n" + NGINX_T.strip() + "\n\n" + WORKER_LIMITS.strip() + "\n```"
    code, out = run(fenced + "\n\nquit\n\n" + ALERT_LOG, tmp_path)
    assert code == 0
    assert "/tmp/ngx/nginx.conf:5" in out
    assert out.count("What happened") == 1  # nothing after quit was read


def test_file_command_and_unreadable_file(tmp_path):
    log = tmp_path / "error.log"
    log.write_text(ALERT_LOG)
    _, out = run(f"/file {log}\n\n/file {tmp_path / 'missing.log'}\n", tmp_path)
    assert "worker_connections are not enough" in out
    assert "cannot read" in out


def test_empty_input_exits_cleanly(tmp_path):
    code, out = run("", tmp_path)
    assert code == 0 and "nginx-triage" in out


def test_secrets_are_not_echoed(tmp_path):
    paste = ALERT_LOG.strip() + "\nAuthorization: Bearer sk_live_supersecret99\n"
    _, out = run(paste, tmp_path)
    assert "sk_live_supersecret99" not in out
    assert "I masked 1 secret" in out
    for f in tmp_path.iterdir():
        assert "sk_live_supersecret99" not in f.read_text()


def test_python_m_bot_chat(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=tmp_path,
        input=script(),
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "All 5 steps done" in proc.stdout
    assert (tmp_path / "nginx-triage-fix.diff").exists()
