"""`nginx-triage chat` in a real pseudo-terminal (pexpect): a raw multi-file `nginx -T`, blank
lines and all, pasted as a bracketed paste is one message with one answer and a diff that
applies with `patch -p0` and passes the real `nginx -t`; a partial dump gets no diff and the
answer says what is missing (issue 10).

The dump is what the real nginx prints for a config written here (three files, blank lines
between and inside them); the alert lines are real ones from examples/worker-connections.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

from tests.integration.nginx_harness import NGINX  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin" / "nginx-triage"
REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
PATCH = shutil.which("patch")
ALERT = "".join(
    line
    for line in (ROOT / "examples" / "worker-connections" / "error.log").read_text().splitlines(True)
    if "are not enough" in line
)[:2000]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADER = re.compile(r"^# configuration file (?P<path>.+):$", re.MULTILINE)

pytestmark = pytest.mark.skipif(
    (NGINX is None or PATCH is None) and not REQUIRE, reason="needs the real nginx and patch (make deps)"
)


def write_config(root: Path) -> Path:
    """nginx.conf including mime.types and conf.d/*.conf, with blank lines as people write them."""
    (root / "conf.d").mkdir(parents=True)
    (root / "nginx.conf").write_text(
        f"# shop front\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n\n"
        "events {\n    worker_connections 16;\n}\n\n"
        f"http {{\n    include {root}/mime.types;\n    default_type application/octet-stream;\n\n"
        f"    access_log off;\n\n    include {root}/conf.d/*.conf;\n}}\n"
    )
    (root / "mime.types").write_text("types {\n    text/html  html htm;\n\n    application/json  json;\n}\n")
    (root / "conf.d" / "app.conf").write_text(
        "upstream app {\n    server 127.0.0.1:9;\n\n    keepalive 4;\n}\n\n"
        "server {\n    listen 127.0.0.1:28099;\n    server_name shop.example.com;\n\n"
        '    location / {\n        proxy_pass http://app;\n        proxy_set_header Connection "";\n    }\n}\n'
    )
    return root / "nginx.conf"


def nginx_T(conf: Path) -> str:
    assert NGINX is not None
    proc = subprocess.run(
        [NGINX, "-T", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True, timeout=30, check=True
    )
    return proc.stderr + proc.stdout


class Chat:
    """One `nginx-triage chat` in a pty; every paste is bracketed the way a terminal does it."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ, NO_COLOR="1", TERM="xterm-256color", COLUMNS="160", LINES="50")
        self.child = pexpect.spawn(
            str(BIN), ["chat"], cwd=str(cwd), env=env, encoding="utf-8", timeout=90, dimensions=(50, 160)
        )
        self.child.expect_exact("Paste below")
        self.child.expect_exact("\x1b[?2004h")  # bracketed paste on

    def paste(self, text: str, until: str = "(type the number or the word)") -> str:
        """Paste ``text`` (newlines as the terminal sends them), press Enter, return what was shown."""
        self.child.send("\x1b[200~" + text.replace("\n", "\r") + "\x1b[201~")
        self.child.send("\r")
        return self.wait(until)

    def wait(self, until: str = "(type the number or the word)") -> str:
        self.child.expect_exact(until)
        return ANSI.sub("", self.child.before)

    def quit(self) -> str:
        self.child.send("quit\r")
        self.child.expect(pexpect.EOF)
        rest = self.child.before or ""
        self.child.close()
        return rest


def replies(screen: str) -> list[str]:
    """The kinds of the replies shown (each starts with a rule carrying its kind)."""
    return re.findall(r"─ (\w+) ─", screen)


def test_bracketed_paste_of_a_raw_multi_file_dump(tmp_path):
    conf = write_config(tmp_path / "ngx")
    dump = nginx_T(conf)
    assert dump.count("# configuration file") == 3 and "\n\n" in dump
    chat = Chat(tmp_path)
    assert replies(chat.paste(ALERT)) == ["diagnosis"]
    screen = chat.paste(dump)
    assert replies(screen) == ["diagnosis"], screen  # one message, one answer
    flat = " ".join(screen.split())
    assert "I now also have nginx -T" in flat
    # One evidence section: the dump is read whole, not cut at its blank lines into pieces.
    assert "Could not read everything" not in flat and flat.count("─ diagnosis ─") <= 1
    assert "\x1b[?2004l" in chat.quit()  # bracketed paste off again

    diff = (tmp_path / "nginx-triage-fix.diff").read_text()
    assert diff.count("+++ ") == 1 and f"+++ {str(conf).lstrip('/')}" in diff
    assert "events {" not in "".join(ln for ln in diff.splitlines(True) if ln.startswith("+"))
    assert "+    worker_connections 1024;" in diff

    # Write every file out from the dump (they must be the files nginx read), then patch and test.
    parts = HEADER.split(dump)[1:]
    files = {parts[i]: parts[i + 1][1:] for i in range(0, len(parts), 2)}
    assert set(files) == {str(conf), str(conf.parent / "mime.types"), str(conf.parent / "conf.d" / "app.conf")}
    for path, text in files.items():
        body = text[:-1] if text.endswith("\n\n") else text  # nginx's own blank line after each file
        assert Path(path).read_text() == body, path
        Path(path).write_text(body)
    for dry in (True, False):
        args = ["patch", "-d", "/", "-p0", "--forward", "-i", str(tmp_path / "nginx-triage-fix.diff")]
        proc = subprocess.run(args + (["--dry-run"] if dry else []), capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert NGINX is not None
    test = subprocess.run(
        [NGINX, "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert test.returncode == 0 and "test is successful" in test.stderr, test.stderr
    assert "worker_connections 1024;" in conf.read_text()


def test_a_partial_dump_in_the_terminal_gets_no_diff(tmp_path):
    conf = write_config(tmp_path / "ngx")
    dump = nginx_T(conf)
    cut = dump[: dump.index("location /")]  # the copy stopped inside app.conf's server block
    chat = Chat(tmp_path)
    chat.paste(ALERT)
    # The cut paste is still open (braces): the chat asks for the rest; Enter on an empty line sends it.
    chat.paste(cut, until="paste the rest")
    chat.child.send("\r")
    screen = " ".join(chat.wait().split())
    assert replies(screen) == ["diagnosis"], screen
    assert "No diff yet" in screen and "sudo nginx -T 2>&1" in screen and "never closes" in screen
    chat.quit()
    assert not (tmp_path / "nginx-triage-fix.diff").exists()
