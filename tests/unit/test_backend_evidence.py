"""The backend and host parsers read real outputs (golden fixtures captured on Debian 12 with
php8.2-fpm, iproute2, procps, glibc) and refuse wrong pastes with the command to run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.evidence import EvidenceError, sniff
from bot.evidence.backend.fpm import parse_fpm_pools, parse_fpm_ps
from bot.evidence.backend.host import parse_free, parse_getent, parse_nginx_build
from bot.evidence.backend.listening import parse_listening
from bot.evidence.backend.usage import cpu_seconds, parse_ps_usage
from tests.unit.test_limits import plain

EVIDENCE = Path(__file__).resolve().parents[1] / "data" / "evidence"

PARSERS: dict[str, Callable[[str], Any]] = {
    "ss-listen": parse_listening,
    "php-fpm-pool": parse_fpm_pools,
    "ps-fpm": parse_fpm_ps,
    "free": parse_free,
    "getent": parse_getent,
    "nginx-V": parse_nginx_build,
}

FIXTURES = sorted(p for kind in PARSERS for p in (EVIDENCE / kind).glob("*.txt"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    assert json.loads(json.dumps(plain(PARSERS[path.parent.name](path.read_text())))) == expected


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_capture_is_sniffed_as_one_section_of_its_kind(path: Path) -> None:
    sections = sniff(path.read_text())
    assert [s.kind for s in sections] == [path.parent.name]


def test_every_parser_has_fixtures() -> None:
    for kind in PARSERS:
        assert list((EVIDENCE / kind).glob("*.txt")), f"no fixture for {kind}"


def test_full_accept_queue_of_the_php_fpm_socket() -> None:
    (sock,) = parse_listening((EVIDENCE / "ss-listen" / "lx-grep.txt").read_text())
    assert sock.kind == "unix" and sock.local == "/run/php/php8.2-fpm.sock"
    assert (sock.recv_q, sock.send_q, sock.queue_full) == (4097, 4096, True)


def test_tcp_listeners_with_their_programs() -> None:
    socks = parse_listening((EVIDENCE / "ss-listen" / "ltnp.txt").read_text())
    nginx = [s for s in socks if "nginx" in s.processes]
    assert [(s.host, s.port) for s in nginx] == [("127.0.0.1", 38111)]
    assert ("[::1]", 6379) in {(s.host, s.port) for s in socks}


def test_pool_settings_keep_file_and_line_for_the_diff() -> None:
    pools = parse_fpm_pools((EVIDENCE / "php-fpm-pool" / "grep-Hn-debian.txt").read_text())
    setting = pools.get("pm.max_children")
    assert setting is not None
    assert (setting.value, setting.file, setting.line) == ("5", "/etc/php/8.2/fpm/pool.d/www.conf", 127)


def test_php_fpm_tt_names_the_pool_and_the_backlog() -> None:
    pools = parse_fpm_pools((EVIDENCE / "php-fpm-pool" / "php-fpm-tt.txt").read_text())
    assert pools.source == "tt" and pools.pools() == ["www"]
    assert pools.get("listen.backlog", "www").value == "-1"  # type: ignore[union-attr]
    assert pools.get("pm.max_children").value == "5"  # type: ignore[union-attr]


def test_php_fpm_ps_is_not_nginx_and_gives_memory_per_child() -> None:
    text = (EVIDENCE / "ps-fpm" / "ps-o-rss-prompt.txt").read_text()
    procs = parse_fpm_ps(text)
    assert [p.role for p in procs] == ["master", "pool", "pool"]
    assert {p.rss_kb for p in procs if p.role == "pool"} == {8672}
    with pytest.raises(EvidenceError):
        from bot.evidence import parse_ps

        parse_ps(text)


def test_cpu_time_columns_of_nginx_ps() -> None:
    usage = parse_ps_usage((EVIDENCE / "ps" / "ps-o-time-cpu.txt").read_text())
    workers = [u for u in usage if u.role == "worker"]
    assert len(workers) == 5 and all(u.cpu_percent is not None for u in workers)
    assert cpu_seconds("1-02:03:04") == 93784 and cpu_seconds("12:34") == 754 and cpu_seconds("x") is None


def test_free_units_follow_the_command() -> None:
    assert (
        parse_free(
            "$ free\n   total used free shared buff/cache available\nMem: 2048000 1024000 512000 0 0 900000"
        ).total_mb
        == 2000
    )
    assert parse_free("Mem:  23Gi  1.1Gi  20Gi  92Mi  1.9Gi  22Gi").total_mb == 23 * 1024


def test_getent_of_localhost_with_both_families() -> None:
    res = parse_getent((EVIDENCE / "getent" / "ahosts-localhost-dual.txt").read_text())
    assert res.name == "localhost" and res.addresses == ("::1", "127.0.0.1") and res.families == {"4", "6"}


def test_nginx_build_paths() -> None:
    build = parse_nginx_build((EVIDENCE / "nginx-V" / "debian-1.22.txt").read_text())
    assert build.version == "nginx/1.22.1" and "http_v2_module" in build.modules
    assert build.paths["conf-path"] == "/etc/nginx/nginx.conf"


@pytest.mark.parametrize(
    ("kind", "text", "needle"),
    [
        ("ss-listen", "$ ss -lx\nss: command not found", "ss -ltnp"),
        ("php-fpm-pool", "hello there", "pool.d"),
        ("ps-fpm", "  PID CMD\n  1 nginx: master process", "php-fpm"),
        ("free", "Swap: 0 0 0", "free -m"),
        ("getent", "$ getent ahosts nowhere", "getent ahosts"),
        ("nginx-V", "configure arguments: --prefix=/x", "nginx -V"),
    ],
)
def test_wrong_paste_says_what_to_paste(kind: str, text: str, needle: str) -> None:
    with pytest.raises(EvidenceError) as err:
        PARSERS[kind](text)
    assert needle in str(err.value)


def _numbers(value: Any) -> list[int | float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


HOSTILE = {
    "ss-listen": "u_str LISTEN \u0661\u0662 \u0663 /run/x.sock 1 * 0\nLISTEN 0 "
    + "9" * 5000
    + " 127.0.0.1:80 0.0.0.0:*",
    "php-fpm-pool": "/etc/php/8.2/fpm/pool.d/www.conf:\u0661\u0662:pm.max_children = 5\n" + "9" * 5000,
    "ps-fpm": "  PID RSS CMD\n \u0661\u0662 \u0663 php-fpm: pool www\n " + "9" * 5000 + " 1 php-fpm: pool www",
    "free": "Mem: \u0661\u0662 1 2 3 4 5\nMem: " + "9" * 5000 + " 1 2",
    "getent": "\u0661\u0662\u0663.0.0.1 localhost",
    "nginx-V": "nginx version: nginx/\u0661.\u0662\nconfigure arguments: --prefix=" + "9" * 5000,
}


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_hostile_digits_never_become_numbers(kind: str) -> None:
    """Arabic-Indic digits and a 5,000-digit run are refused or left as text, never read as numbers."""
    try:
        value = PARSERS[kind](HOSTILE[kind])
    except EvidenceError:
        return
    numbers = _numbers(plain(value))
    assert all(abs(n) < 10**15 for n in numbers), numbers
    if kind == "php-fpm-pool":
        assert value.get("pm.max_children").line is None  # "\u0661\u0662" is no line number
