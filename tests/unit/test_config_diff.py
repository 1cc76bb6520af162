"""make_diff: in-place edits, insertions, and diffs that the real `patch -p0` and `nginx -t` accept."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.diagnosis.config_diff import Edit, apply_command, header_path, make_diff
from bot.evidence import NginxConfig, parse_dump

DATA = Path(__file__).resolve().parents[1] / "data" / "nginx-T"
NGINX = "/usr/sbin/nginx"
PATCH = shutil.which("patch")
needs_patch = pytest.mark.skipif(PATCH is None, reason="GNU patch is not installed (apt-get install patch)")


def _skip_unless_ci(reason: str) -> None:
    """Skip with the reason on a laptop; in CI (CI=true) a missing real part is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this real part: {reason}")
    pytest.skip(reason)


def _dump(name: str) -> NginxConfig:
    return parse_dump((DATA / f"{name}.txt").read_text())


def _mirror(config: NginxConfig, root: Path) -> None:
    """Write the pasted files under ``root`` at their absolute paths, as `cd /` would see them."""
    for path, content in config.files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def _patch(root: Path, diff: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    diff_file = tmp_path / "fix.diff"
    diff_file.write_text(diff)
    # apply_command() says `cd / && patch ...`; here the mirror root stands in for /
    cmd = apply_command(str(diff_file)).replace("cd / && ", "", 1)
    return subprocess.run(cmd, shell=True, cwd=root, capture_output=True, text=True, check=False)


def test_replace_keeps_indentation_and_comment() -> None:
    c = parse_dump(
        "# configuration file /etc/nginx/nginx.conf:\nevents {\n\tworker_connections  768; # per worker\n}\n\n"
    )
    diff = make_diff(c, [Edit("/etc/nginx/nginx.conf", 2, "worker_connections", ("4096",), "events", "too few slots")])
    assert "-\tworker_connections  768; # per worker\n+\tworker_connections 4096; # per worker\n" in diff
    assert diff.startswith("--- etc/nginx/nginx.conf\n+++ etc/nginx/nginx.conf\n")


def test_replace_multiline_and_quoted_args() -> None:
    c = parse_dump("# configuration file /e/n.conf:\nhttp {\n    log_format main '$a;'\n        '$b';\n}\n\n")
    diff = make_diff(c, [Edit("/e/n.conf", 2, "log_format", ("main", "$x y"))])
    assert '+    log_format main "$x y";\n' in diff
    assert "-        '$b';\n" in diff


def test_insert_rlimit_after_worker_processes_and_create_events() -> None:
    c = parse_dump(
        "# configuration file /etc/nginx/nginx.conf:\nuser nginx;\nworker_processes 2;\npid /run/n.pid;\n\n"
        "http {\n  server { listen 39050; }\n}\n\n"
    )
    diff = make_diff(
        c,
        [
            Edit(c.main_file, None, "worker_rlimit_nofile", ("8192",)),
            Edit(c.main_file, None, "worker_connections", ("4096",), "events"),
        ],
    )
    assert " worker_processes 2;\n+worker_rlimit_nofile 8192;\n pid /run/n.pid;\n" in diff
    assert "+events {\n+  worker_connections 4096;\n+}\n" in diff
    assert diff.index("+events {") < diff.index(" http {")


def test_insert_into_existing_block_uses_sibling_indent() -> None:
    c = _dump("debian-default")
    diff = make_diff(c, [Edit(c.main_file, None, "multi_accept", ("on",), "events")])
    assert " events {\n+\tmulti_accept on;\n \tworker_connections 768;\n" in diff


def test_existing_directive_found_in_other_file_when_line_unknown() -> None:
    c = _dump("multi-include")
    diff = make_diff(c, [Edit(c.main_file, None, "keepalive", ("64",), "upstream app_backend")])
    assert diff.startswith("--- tmp/ngx-fix/multi/conf.d/upstreams.conf\n")
    assert "-    keepalive 32;\n+    keepalive 64;\n" in diff


def test_errors_say_where() -> None:
    c = _dump("multi-include")
    with pytest.raises(ValueError, match=r"nginx\.conf:3"):
        make_diff(c, [Edit(c.main_file, 3, "worker_connections", ("1",))])
    with pytest.raises(ValueError, match="not in the pasted configuration"):
        make_diff(c, [Edit("/etc/other.conf", None, "worker_rlimit_nofile", ("1",))])


def test_no_change_no_diff() -> None:
    c = _dump("multi-include")
    assert make_diff(c, [Edit(c.main_file, 7, "worker_connections", ("1024",))]) == ""


def test_apply_command_and_headers() -> None:
    assert header_path("/etc/nginx/nginx.conf") == "etc/nginx/nginx.conf"
    cmd = apply_command("fix.diff")
    assert cmd.startswith("cd / && patch -p0 --forward --follow-symlinks < /")
    assert cmd.endswith("/fix.diff")
    assert "--dry-run" in apply_command("/tmp/x y.diff", dry_run=True) and "'/tmp/x y.diff'" in apply_command(
        "/tmp/x y.diff"
    )


@needs_patch
def test_multi_file_diff_applies_and_nginx_accepts_it(tmp_path: Path) -> None:
    c = _dump("multi-include")
    api = "/tmp/ngx-fix/multi/sites-enabled/api.example.com"
    edits = [
        Edit(c.main_file, 7, "worker_connections", ("4096",), "events", "2 slots per proxied request"),
        Edit(c.main_file, None, "worker_rlimit_nofile", ("8192",), None, "2x worker_connections"),
        Edit("/tmp/ngx-fix/multi/conf.d/upstreams.conf", 6, "keepalive", ("64",)),
        Edit(api, 12, "proxy_read_timeout", ("300s",)),
    ]
    diff = make_diff(c, edits)
    assert diff.count("\n--- ") + diff.startswith("--- ") == 3
    root = tmp_path / "root"
    _mirror(c, root)
    result = _patch(root, diff, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = (root / "tmp/ngx-fix/multi/nginx.conf").read_text()
    assert "worker_processes 4;\nworker_rlimit_nofile 8192;\n" in main
    assert "    worker_connections 4096;  # per worker\n" in main
    assert "    keepalive 64;\n" in (root / "tmp/ngx-fix/multi/conf.d/upstreams.conf").read_text()
    # the patched tree parses back with the new values at the same places
    after = parse_dump("".join(f"# configuration file {p}:\n{(root / p.lstrip('/')).read_text()}\n" for p in c.files))
    assert after.worker_connections is not None and after.worker_connections.args == ("4096",)
    assert after.worker_rlimit_nofile is not None and after.worker_rlimit_nofile.at == f"{c.main_file}:3"

    if not os.path.exists(NGINX):
        _skip_unless_ci(f"{NGINX} is not installed: patch applied, nginx -t not run")
    if shutil.which("openssl") is None:
        _skip_unless_ci("openssl is not installed: cannot make the test certificate nginx -t loads")
    prefix = root / "tmp/ngx-fix/multi"
    (prefix / "logs").mkdir()
    (prefix / "ssl").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test",
            "-keyout",
            str(prefix / "ssl/test.key"),
            "-out",
            str(prefix / "ssl/test.crt"),
        ],
        capture_output=True,
        check=True,
    )
    test = subprocess.run(
        [NGINX, "-t", "-c", str(prefix / "nginx.conf"), "-p", f"{prefix}/"], capture_output=True, text=True, check=False
    )
    assert test.returncode == 0, test.stderr
    assert "test is successful" in test.stderr


@needs_patch
def test_diff_applies_through_debian_sites_enabled_symlink(tmp_path: Path) -> None:
    c = _dump("debian-default")
    site = "/etc/nginx/sites-enabled/default"
    root = tmp_path / "root"
    _mirror(c, root)
    real = root / "etc/nginx/sites-available/default"
    real.parent.mkdir(parents=True)
    (root / site.lstrip("/")).rename(real)
    (root / site.lstrip("/")).symlink_to("../sites-available/default")
    diff = make_diff(
        c,
        [
            Edit(c.main_file, None, "worker_rlimit_nofile", ("2048",)),
            Edit(site, None, "client_max_body_size", ("20m",), "server"),
        ],
    )
    result = _patch(root, diff, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # GNU patch 2.7 follows the link to read but writes a regular file in its place: nginx reads
    # the patched text; sites-available/ keeps the old one (apply_command's docstring says so)
    assert (
        "server {\n\tclient_max_body_size 20m;\n\tlisten 80 default_server;\n" in (root / site.lstrip("/")).read_text()
    )
    assert not list(root.rglob("*.orig"))  # a backup in sites-enabled/ would be loaded as config

    if not os.path.exists(NGINX):
        _skip_unless_ci(f"{NGINX} is not installed: patch applied, nginx -t not run")
    if os.geteuid() != 0:
        _skip_unless_ci("Debian's nginx.conf logs to /var/log/nginx: nginx -t needs root")
    test = subprocess.run(
        [NGINX, "-t", "-c", str(root / "etc/nginx/nginx.conf")], capture_output=True, text=True, check=False
    )
    assert test.returncode == 0, test.stderr
