"""Each host evidence kind through the front door: the installed ``nginx-triage diagnose`` reads
one paste (real error-log lines, real ``nginx -T``, the real command output) and uses what it
read: the kind is listed as read, no longer asked for, and the finding or fact it proves is there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import DATA, ROOT

CASES = ROOT / "kb" / "findings" / "cases"
EVIDENCE = DATA / "evidence"


def diagnose(cli: list[str], *pastes: Path, args: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON diagnosis of the pastes, sent as one paste on stdin."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in pastes)
    proc = subprocess.run(
        [*cli, "diagnose", "--format", "json", *args, "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def findings(d: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["message"] for f in d["findings"]}


def test_df_places_the_failed_writes_on_the_full_mounts(cli: list[str]) -> None:
    d = diagnose(
        cli,
        CASES / "no-space-temp-body.log",
        CASES / "nginx-T-temp-paths-on-tmpfs.txt",
        CASES / "df-full-and-inodes-full.txt",
    )
    assert "disk-usage" in d["evidence"] and not d["problems"]
    assert "disk-usage" not in [n["evidence"] for n in d["needs"]]
    message = findings(d)["filesystem-full"]
    assert "/tmp/evinode (tmpfs) is full: no inodes are left" in message and "/tmp/evfull is full too" in message


def test_df_with_room_rules_the_disk_out(cli: list[str]) -> None:
    d = diagnose(
        cli,
        CASES / "no-space-temp-body.log",
        CASES / "nginx-T-temp-paths-on-tmpfs.txt",
        CASES / "df-room-after-cleanup.txt",
    )
    assert "disk-usage" in d["evidence"]
    assert "filesystem-full" not in findings(d)
    assert "shows room there now: /tmp/evinode/proxy is on /tmp/evinode" in findings(d)["disk-has-room"]


def test_the_namei_command_carries_the_denied_path(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "permission-denied-private.log")
    commands = {n["evidence"]: n["command"] for n in d["needs"]}
    assert commands["file-permissions"] == "namei -l /tmp/evlab/www/private/index.html; ps -o user= -C nginx | sort -u"


def test_namei_names_the_directory_the_workers_cannot_search(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "permission-denied-private.log", CASES / "namei-private-dir.txt")
    assert "file-permissions" in d["evidence"] and not d["problems"]
    assert "file-permissions" not in [n["evidence"] for n in d["needs"]]
    message = findings(d)["path-not-searchable"]
    assert "nobody cannot search /tmp/evlab/www/private (drwx------ root:root" in message
    assert "sudo chmod o+x /tmp/evlab/www/private" in message


def test_the_certificate_command_carries_the_files_of_nginx_T(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "ssl-alert-certificate-expired.log", CASES / "nginx-T-temp-paths-on-tmpfs.txt")
    commands = {n["evidence"]: n["command"] for n in d["needs"]}
    crt, key = "/tmp/evlab/certs/shop.example.test.crt", "/tmp/evlab/certs/shop.example.test.key"
    assert commands["certificate"] == f"openssl x509 -in {crt} -noout -subject -dates; ls -l {crt} {key}"
    alone = diagnose(cli, CASES / "cannot-load-certificate.log")
    commands = {n["evidence"]: n["command"] for n in alone["needs"]}
    assert commands["certificate"] == f"openssl x509 -in {crt} -noout -subject -dates; ls -l {crt} KEY"


def test_the_certificates_dates_say_it_expired(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "ssl-alert-certificate-expired.log", CASES / "x509-expired.txt")
    assert "certificate" in d["evidence"] and not d["problems"]
    assert "certificate" not in [n["evidence"] for n in d["needs"]]
    assert (
        "shop.example.test (/tmp/evlab/certs/shop.example.test.crt) expired on 2025-11-30"
        in (findings(d)["certificate-expired"])
    )


def test_ls_says_the_certificate_is_gone(cli: list[str]) -> None:
    d = diagnose(
        cli,
        CASES / "cannot-load-certificate.log",
        CASES / "nginx-T-temp-paths-on-tmpfs.txt",
        CASES / "x509-certificate-gone.txt",
    )
    assert "certificate-expired" not in findings(d)
    assert "ssl_certificate at /tmp/evlab/conf/nginx.conf:37 names it" in findings(d)["certificate-file-missing"]


def test_the_access_log_command_carries_the_access_log_of_nginx_T(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "timeout-and-413.log", CASES / "nginx-T-temp-paths-on-tmpfs.txt")
    commands = {n["evidence"]: n["command"] for n in d["needs"]}
    assert commands["access-log"] == "tail -n 200 /tmp/evlab/logs/access.log"


def test_the_access_log_says_how_long_the_504s_ran_and_which_uploads_got_413(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "timeout-and-413.log", CASES / "access-log-timed.txt")
    assert "access-log" in d["evidence"] and not d["problems"]
    assert "access-log" not in [n["evidence"] for n in d["needs"]]
    message = findings(d)["failing-requests"]
    assert "504 x1 (GET /report/monthly; ran up to 1.001 s, upstream 1.001 s)" in message
    assert "413 x1 (POST /avatar" in message
    assert "499 x1 (GET /export/all.csv; the client gave up after 0.5 s" in message


def test_proc_1_cgroup_says_docker_and_the_plan_follows(cli: list[str]) -> None:
    before = diagnose(cli, CASES / "refused-lab-backend-down.log")
    assert before["environment"] == {"id": "systemd-host", "title": before["environment"]["title"], "detected": False}
    assert "environment" in [n["evidence"] for n in before["needs"]]
    d = diagnose(cli, CASES / "refused-lab-backend-down.log", EVIDENCE / "run-env" / "docker-cgroup-v1.txt")
    assert "environment" in d["evidence"] and not d["problems"]
    assert "environment" not in [n["evidence"] for n in d["needs"]]
    assert (d["environment"]["id"], d["environment"]["detected"]) == ("docker", True)
    assert any(c["command"].startswith("docker exec") for c in d["commands"])


def test_systemctl_status_says_systemd(cli: list[str]) -> None:
    d = diagnose(cli, CASES / "refused-lab-backend-down.log", EVIDENCE / "run-env" / "systemd-active-prompt.txt")
    assert "environment" in d["evidence"]
    assert (d["environment"]["id"], d["environment"]["detected"]) == ("systemd-host", True)


def test_all_five_in_one_paste_mostly_without_prompts(cli: list[str]) -> None:
    d = diagnose(cli, EVIDENCE / "sniff" / "host-outputs.txt")
    assert {"disk-usage", "file-permissions", "certificate", "access-log", "environment"} <= set(d["evidence"])
    assert not d["problems"]
    assert {"filesystem-full", "path-not-searchable", "certificate-expired", "failing-requests"} <= set(findings(d))
    assert d["environment"]["id"] == "docker"


def test_a_finding_from_evidence_alone_shows_in_the_terminal(cli: list[str]) -> None:
    """No error line at all, only `nginx -T` and `df`: the text output still says the disk is full."""
    text = "\n".join(
        p.read_text() for p in (CASES / "nginx-T-temp-paths-on-tmpfs.txt", CASES / "df-full-and-inodes-full.txt")
    )
    proc = subprocess.run([*cli, "diagnose", "-"], input=text, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "No known NGINX error found" in proc.stdout
    assert "filesystem-full" in proc.stdout and "/tmp/evfull (tmpfs) is full" in proc.stdout


def test_the_namei_command_takes_the_socket_of_a_refused_unix_connect(cli: list[str], tmp_path: Path) -> None:
    log = tmp_path / "socket.log"
    log.write_text(
        "2026/12/02 10:11:12 [crit] 1207#1207: *3 connect() to unix:/run/php/php8.2-fpm.sock failed "
        "(13: Permission denied) while connecting to upstream, client: 10.0.0.5, server: shop.example.test, "
        'request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop"\n'
    )
    commands = {n["evidence"]: n["command"] for n in diagnose(cli, log)["needs"]}
    assert commands["file-permissions"].startswith("namei -l /run/php/php8.2-fpm.sock; ")
