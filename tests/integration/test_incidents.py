"""The seven incidents of issue 9, each with a realistic full ``nginx -T`` printed by the real
nginx (Debian's packaged /etc/nginx plus the incident's site) and the evidence the user pasted:
the recommendation names the right directive, file, line and value, the diff applies with the
real ``patch -p0`` and the patched tree passes the real ``nginx -t`` (``php-fpm -t`` for the
pool file when php-fpm is installed). No new finding fires on another incident's evidence."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.diagnosis import Collected, Diagnosis, diagnose_evidence
from tests.incidents.trees import EVIDENCE, dump, incidents, nginx_t, write_tree

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx (apt-get install nginx)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx")
elif not Path("/etc/nginx/nginx.conf").exists() or shutil.which("patch") is None:
    pytestmark = pytest.mark.skip(reason="needs Debian's packaged /etc/nginx and patch")

NEW_FINDINGS = {"uneven-worker-load", "localhost-dual-stack", "fastcgi-pool-saturated", "fd-limit-at-connections"}
PHP_FPM = shutil.which("php-fpm8.2")

# incident -> the new finding it must raise (none for the three that only need a tailored change)
RAISES = {
    "client-body-413": set(),
    "fastcgi-read-timeout": set(),
    "fastcgi-too-big-header": set(),
    "localhost-dual-stack": {"localhost-dual-stack"},
    "php-fpm-backlog": {"fastcgi-pool-saturated"},
    "emfile-at-connections": {"fd-limit-at-connections"},
    "uneven-worker-load": {"uneven-worker-load"},
}


def _pool_file(root: Path) -> Path:
    """A pool file under ``root`` with Debian's www.conf settings on their real lines (from the
    captured ``grep -Hn``), so the zero-context hunks land where they would on the host."""
    lines = (EVIDENCE / "php-fpm-pool" / "grep-Hn-debian.txt").read_text().splitlines()
    body = [";"] * 150
    body[0], body[1], body[2] = "[www]", "user = www-data", "group = www-data"
    for line in lines:
        _path, number, text = line.split(":", 2)
        body[int(number) - 1] = text
    pool = root / "etc" / "php" / "8.2" / "fpm" / "pool.d" / "www.conf"
    pool.parent.mkdir(parents=True, exist_ok=True)
    pool.write_text("\n".join(body) + "\n")
    (root / "etc" / "php" / "8.2" / "fpm" / "php-fpm.conf").write_text(
        f"[global]\npid = {root}/php-fpm.pid\nerror_log = {root}/php-fpm.log\ninclude = {pool.parent}/*.conf\n"
    )
    return pool


def _diagnose(root: Path, name: str, matcher, kb) -> tuple[Diagnosis, Collected, Path]:
    incident = incidents()[name]
    main = write_tree(root, incident)
    ev = Collected()
    ev.add_text(dump(main), matcher, "nginx -T")
    for paste in incident.pastes:
        if name == "php-fpm-backlog":
            paste = paste.replace("/etc/php/8.2/fpm/pool.d/www.conf", str(_pool_file(root)))
        ev.add_text(paste, matcher)
    assert not ev.problems, ev.problems
    return diagnose_evidence(ev, kb), ev, main


def _apply(diagnosis: Diagnosis) -> None:
    assert diagnosis.diff, "no diff"
    patch = subprocess.run(
        ["patch", "-p0", "--forward", "--follow-symlinks"],
        input=diagnosis.diff,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert patch.returncode == 0, patch.stdout + patch.stderr + diagnosis.diff


def _rec(diagnosis: Diagnosis, directive: str):
    found = [r for r in diagnosis.recommendations if r.directive == directive]
    assert found, f"no {directive} in {[r.directive for r in diagnosis.recommendations]}"
    return found[0]


def _check_and_patch(diagnosis: Diagnosis, main: Path) -> None:
    _apply(diagnosis)
    tested = nginx_t(main)
    assert tested.returncode == 0, tested.stderr


@pytest.mark.parametrize("name", sorted(RAISES))
def test_no_new_finding_fires_on_another_incidents_evidence(tmp_path, kb, matcher, name):
    diagnosis, _ev, _main = _diagnose(tmp_path, name, matcher, kb)
    raised = {f.id for f in diagnosis.findings} & NEW_FINDINGS
    assert raised == RAISES[name], (name, raised)
    assert "proxy-loop" not in {f.id for f in diagnosis.findings}


def test_413_raises_the_limit_where_the_upload_was_handled(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "client-body-413", matcher, kb)
    rec = _rec(diagnosis, "client_max_body_size")
    site = str(main.parent / "sites-enabled" / "files")
    assert (rec.file, rec.line, rec.current, rec.recommended) == (site, 12, "2000M", "3g")
    assert rec.context == "http > server(files.example.org) > location /upload/"
    _check_and_patch(diagnosis, main)
    assert "\t\tclient_max_body_size 3g;\n" in Path(site).read_text()


def test_fastcgi_timeout_goes_to_the_php_location(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "fastcgi-read-timeout", matcher, kb)
    assert not [r for r in diagnosis.recommendations if r.directive.startswith("proxy_")]
    rec = _rec(diagnosis, "fastcgi_read_timeout")
    site = str(main.parent / "sites-enabled" / "shop")
    assert (rec.file, rec.line, rec.current, rec.recommended) == (site, 11, "60s", "120s")
    assert rec.context == "http > server(shop.example.com) > location ~ \\.php$"
    assert not [c for c in diagnosis.commands if "curl" in c.command and "fpm.sock" in c.command]
    _check_and_patch(diagnosis, main)


def test_fastcgi_big_header_raises_fastcgi_buffers_not_proxy_ones(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "fastcgi-too-big-header", matcher, kb)
    assert not [r for r in diagnosis.recommendations if r.directive.startswith("proxy_")]
    size = _rec(diagnosis, "fastcgi_buffer_size")
    buffers = _rec(diagnosis, "fastcgi_buffers")
    site = str(main.parent / "sites-enabled" / "shop")
    assert (size.file, size.line, size.recommended) == (site, 11, "16k")
    assert (buffers.file, buffers.line, buffers.recommended) == (site, 11, "8 16k")
    _check_and_patch(diagnosis, main)  # busy buffers stay valid: nginx -t passes


def test_localhost_becomes_the_address_the_backend_listens_on(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "localhost-dual-stack", matcher, kb)
    rec = _rec(diagnosis, "proxy_pass")
    site = str(main.parent / "sites-enabled" / "app")
    assert (rec.file, rec.line, rec.current, rec.recommended) == (
        site,
        7,
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    )
    assert {f.id for f in diagnosis.findings} >= {"localhost-dual-stack"}
    assert "proxy-loop" not in {f.id for f in diagnosis.findings}
    _check_and_patch(diagnosis, main)


def test_php_fpm_pool_gets_more_children_in_its_own_file(tmp_path, kb, matcher):
    diagnosis, ev, main = _diagnose(tmp_path, "php-fpm-backlog", matcher, kb)
    assert ev.processes == [] and len(ev.fpm_processes) == 3  # php-fpm's ps is not read as nginx's
    rec = _rec(diagnosis, "pm.max_children")
    pool = tmp_path / "etc" / "php" / "8.2" / "fpm" / "pool.d" / "www.conf"
    assert (rec.file, rec.line, rec.current, rec.recommended) == (str(pool), 127, "5", "20")
    roles = {c.role for c in diagnosis.commands}
    assert "reload" not in roles and "test_config" not in roles  # nothing in nginx changes
    assert any(c.command == "sudo php-fpm8.2 -t" for c in diagnosis.commands)
    _check_and_patch(diagnosis, main)
    assert pool.read_text().splitlines()[126] == "pm.max_children = 20"
    if PHP_FPM is not None:
        conf = tmp_path / "etc" / "php" / "8.2" / "fpm" / "php-fpm.conf"
        tested = subprocess.run([PHP_FPM, "-t", "-y", str(conf)], capture_output=True, text=True, timeout=30)
        assert tested.returncode == 0 and "test is successful" in tested.stderr + tested.stdout, tested.stderr


def test_emfile_at_worker_connections_raises_both_limits(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "emfile-at-connections", matcher, kb)
    wc = _rec(diagnosis, "worker_connections")
    fd = _rec(diagnosis, "worker_rlimit_nofile")
    assert (wc.file, wc.line, wc.current) == (str(main), 8, "1024")
    assert int(wc.recommended) > 1024 and int(fd.recommended) >= 2 * int(wc.recommended)
    after = diagnosis.capacity["after_fix"]
    assert after["worker_connections"] == int(wc.recommended)
    assert after["fd_limit_per_worker"] == int(fd.recommended)
    assert f"of its {after['max_connections']} connection slots" in diagnosis.alert_rule
    _check_and_patch(diagnosis, main)


def test_uneven_load_puts_reuseport_on_each_listen(tmp_path, kb, matcher):
    diagnosis, _ev, main = _diagnose(tmp_path, "uneven-worker-load", matcher, kb)
    site = str(main.parent / "sites-enabled" / "busy")
    listens = sorted((r.line, r.recommended) for r in diagnosis.recommendations if r.directive == "listen")
    assert listens == [(2, "80 reuseport"), (3, "443 ssl http2 reuseport")]
    assert all(r.file == site for r in diagnosis.recommendations if r.directive == "listen")
    _check_and_patch(diagnosis, main)
