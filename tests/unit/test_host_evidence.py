"""The host parsers read real outputs (``df``, ``namei -l``, ``openssl x509`` with ``ls -l``,
nginx's access log, ``/proc/1/cgroup``; golden fixtures in ``tests/data/evidence/<kind>/``)
and refuse a paste that is none of them with the command to run."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.evidence import EvidenceError, sniff
from bot.evidence.system.access_log import parse_access_line, parse_access_log
from bot.evidence.system.certificate import parse_certificate
from bot.evidence.system.disk import parse_df
from bot.evidence.system.permissions import parse_namei
from bot.evidence.system.run_env import parse_run_environment

EVIDENCE = Path(__file__).resolve().parents[1] / "data" / "evidence"

PARSERS: dict[str, Callable[[str], Any]] = {
    "df": parse_df,
    "namei": parse_namei,
    "x509": parse_certificate,
    "access-log": parse_access_log,
    "run-env": parse_run_environment,
}

FIXTURES = sorted(p for kind in PARSERS for p in (EVIDENCE / kind).glob("*.txt"))


def as_json(value: Any) -> Any:
    """The JSON shape of a parse result (dates as ``str(datetime)``)."""
    return json.loads(json.dumps(dataclasses.asdict(value), default=str))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    assert as_json(PARSERS[path.parent.name](path.read_text())) == expected


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_capture_is_sniffed_as_one_section_of_its_kind(path: Path) -> None:
    assert [s.kind for s in sniff(path.read_text())] == [path.parent.name]


def test_every_parser_has_fixtures() -> None:
    for kind in PARSERS:
        assert len(list((EVIDENCE / kind).glob("*.txt"))) >= 2, kind


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_other_text_is_refused_with_the_command(kind: str) -> None:
    with pytest.raises(EvidenceError, match="paste"):
        PARSERS[kind]("hello there\nnothing to read here")


# -- what each one says ------------------------------------------------------------------------


def test_df_finds_the_full_mount_and_the_inode_full_one() -> None:
    usage = parse_df((EVIDENCE / "df" / "full-and-inodes-full-prompt.txt").read_text())
    body = usage.mount_of("/tmp/evfull/client_body/0000000001")
    inode = usage.mount_of("/tmp/evinode/proxy")
    root = usage.mount_of("/var/log/nginx/error.log")
    assert body is not None and body.mount == "/tmp/evfull" and body.blocks_full and not body.inodes_full
    assert inode is not None and inode.mount == "/tmp/evinode" and inode.inodes_full and not inode.blocks_full
    assert root is not None and root.mount == "/" and not root.blocks_full and not root.inodes_full
    assert usage.mount_of("relative/path") is None


def test_df_joins_a_device_name_wrapped_onto_its_own_line() -> None:
    text = "Filesystem           Size  Used Avail Use% Mounted on\n/dev/mapper/vg0-var--lib--docker\n" + (
        "                      20G   20G     0 100% /var/lib/docker\n"
    )
    (fs,) = parse_df(text).filesystems
    assert (fs.source, fs.mount, fs.blocks_full) == ("/dev/mapper/vg0-var--lib--docker", "/var/lib/docker", True)


def test_namei_keeps_the_workers_user_apart_from_roots_master() -> None:
    perms = parse_namei((EVIDENCE / "namei" / "private-dir-prompt.txt").read_text())
    assert perms.worker_users == ("nobody",)
    assert [c.name for c in perms.components][-2:] == ["private", "index.html"]


def test_certificate_dates_say_expired_and_days_left() -> None:
    cert = parse_certificate((EVIDENCE / "x509" / "expired-prompt.txt").read_text())
    assert cert.common_name == "shop.example.test"
    assert cert.expired(datetime(2026, 12, 2, tzinfo=UTC))
    assert not cert.expired(datetime(2025, 11, 29, tzinfo=UTC))
    assert cert.days_left(datetime(2025, 11, 20, tzinfo=UTC)) == 10
    missing = parse_certificate((EVIDENCE / "x509" / "missing-cert-prompt.txt").read_text())
    assert missing.unreadable == "/etc/nginx/ssl/missing.crt"
    assert [f.missing for f in missing.files] == [True, False]


def test_access_log_counts_statuses_and_reads_the_appended_times() -> None:
    log = parse_access_log((EVIDENCE / "access-log" / "timed-format-prompt.txt").read_text())
    assert log.status_counts() == {200: 2, 403: 1, 413: 1, 499: 1, 500: 1, 504: 1}
    slow = {e.status: (e.path, e.request_time, e.upstream_time) for e in log.failed()}
    assert slow[504] == ("/report/monthly", 1.001, 1.001)
    assert slow[499] == ("/export/all.csv", 0.5, 0.5)


@pytest.mark.parametrize(
    ("tail", "times"),
    [
        (' rt=2.345 uct="0.001" urt="2.300"', (2.345, 0.001)),
        (" 0.750 0.500, 0.250", (0.75, 0.75)),
        (" 0.002 -", (0.002, None)),
        (' "10.0.0.9"', (None, None)),
    ],
)
def test_extra_fields_after_the_combined_format(tail: str, times: tuple[float | None, float | None]) -> None:
    line = '10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /a?b=c HTTP/1.1" 502 157 "-" "curl/8"' + tail
    entry = parse_access_line(line)
    assert entry is not None and entry.path == "/a" and entry.status == 502
    assert (entry.request_time, entry.upstream_time) == times


def test_run_environment_from_cgroup_alone_and_from_systemd() -> None:
    kinds = {p.stem: parse_run_environment(p.read_text()).kind for p in (EVIDENCE / "run-env").glob("*.txt")}
    assert kinds == {
        "docker-cgroup-v1": "container",
        "gvisor-no-systemd-prompt": "unknown",
        "kubernetes-cgroup-v1-prompt": "kubernetes",
        "systemd-active-prompt": "systemd",
        "systemd-failed-no-prompt": "systemd",
    }


# -- hostile input: bounded work, a clear refusal --------------------------------------------


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        " " * 100_000 + "x",
        "1 " * 50_000,
        "f: /" + "a/" * 50_000,
        '1 - - [02/Dec/2026:10:00:00 +0000] "' + '"' * 50_000,
        "drwxr-xr-x " * 20_000,
        "0:" + ":" * 50_000 + "/",
        "notAfter=" + "Jan  1 " * 20_000,
        "\u0661\u0662 \u0663 4% /",
    ],
    ids=["long-word", "blanks", "numbers", "deep-path", "quotes", "modes", "colons", "dates", "arabic-digits"],
)
def test_hostile_input_is_read_or_refused_never_raises_else(kind: str, text: str) -> None:
    with contextlib.suppress(EvidenceError):
        PARSERS[kind](text)
    sniff(text)


def test_a_wall_of_rows_is_bounded() -> None:
    rows = "".join(f"tmpfs 1.0M 0 1.0M 0% /m{i}\n" for i in range(6000))
    usage = parse_df("Filesystem Size Used Avail Use% Mounted on\n" + rows)
    assert len(usage.filesystems) == 4096
