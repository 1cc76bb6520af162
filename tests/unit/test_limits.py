"""Limit parsers read real outputs (golden fixtures) and refuse wrong pastes with a way out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.evidence import (
    EvidenceError,
    FileNr,
    SystemdLimits,
    UlimitValues,
    parse_file_nr,
    parse_nproc,
    parse_proc_limits,
    parse_ps,
    parse_ss_count,
    parse_ss_summary,
    parse_sysctl,
    parse_systemctl_show,
    parse_ulimit,
)

EVIDENCE = Path(__file__).resolve().parents[1] / "data" / "evidence"

PARSERS: dict[str, Callable[[str], Any]] = {
    "proc-limits": parse_proc_limits,
    "ulimit": parse_ulimit,
    "systemctl-show": parse_systemctl_show,
    "sysctl": parse_sysctl,
    "file-nr": parse_file_nr,
    "nproc": parse_nproc,
    "ss-s": parse_ss_summary,
    "ss-count": parse_ss_count,
    "ps": parse_ps,
}

FIXTURES = sorted(p for kind in PARSERS for p in (EVIDENCE / kind).glob("*.txt"))


def plain(value: Any) -> Any:
    """The JSON shape of a parse result."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    assert plain(PARSERS[path.parent.name](path.read_text())) == expected


def test_every_parser_has_fixtures_and_every_fixture_a_golden() -> None:
    for kind in PARSERS:
        assert list((EVIDENCE / kind).glob("*.txt")), f"no fixture for {kind}"
    for txt in EVIDENCE.glob("*/*.txt"):
        assert txt.with_suffix(".json").exists(), f"{txt} has no expected .json"


# --- behaviour the goldens pin down, spelled out ------------------------------------------


def test_worker_limits_from_real_table() -> None:
    got = parse_proc_limits((EVIDENCE / "proc-limits" / "worker-raised-prompt.txt").read_text())
    assert (got.nofile_soft, got.nofile_hard, got.pid) == (2048, 2048, 15453)


def test_name_is_the_first_25_columns() -> None:
    row = "Max open files".ljust(25) + " ".join(v.ljust(20) for v in ("unlimited", "unlimited")) + " files"
    got = parse_proc_limits(row)
    assert got.nofile_soft is None and got.nofile_hard is None and not got.nproc_known


def test_pgrep_o_is_kept_so_diagnosis_can_say_it_is_the_master() -> None:
    got = parse_proc_limits((EVIDENCE / "proc-limits" / "master-pgrep-o.txt").read_text())
    assert got.pid is None and got.command is not None and "pgrep -o" in got.command


def test_ulimit_soft_and_hard_from_two_commands() -> None:
    got = parse_ulimit("$ ulimit -Sn\n1024\n$ ulimit -Hn\nunlimited\n")
    assert got == UlimitValues(1024, None, True, True)


def test_ulimit_bare_number_is_what_ulimit_n_prints() -> None:
    assert parse_ulimit("65535") == UlimitValues(65535, None, True, False)


def test_systemctl_unit_from_command_and_infinity() -> None:
    got = parse_systemctl_show("$ systemctl show openresty -p LimitNOFILE\nLimitNOFILE=infinity\n")
    assert got == SystemdLimits(None, None, "openresty.service", False)


def test_ss_count_and_nproc() -> None:
    assert parse_ss_count("$ ss -tan state established | wc -l\n1234\n") == 1234
    assert parse_nproc("nproc: 8") == 8


def test_ps_roles_include_old_workers_shutting_down() -> None:
    procs = parse_ps((EVIDENCE / "ps" / "docker-top-reload.txt").read_text())
    assert [p.role for p in procs] == ["master", "worker", "worker", "worker"]
    assert procs[1].cmd.endswith("is shutting down")
    assert all(p.ppid == 24011 for p in procs[1:])


def test_ps_skips_the_grep_line() -> None:
    procs = parse_ps((EVIDENCE / "ps" / "ps-aux-grep.txt").read_text())
    assert all(p.cmd.startswith("nginx:") for p in procs) and len(procs) == 5


def test_markdown_fences_and_quotes_are_ignored() -> None:
    assert parse_nproc("```\n$ nproc\n16\n```") == 16
    assert parse_file_nr("> 4128\t0\t9223372036854775807") == FileNr(4128, 0, 9223372036854775807)


# --- wrong pastes: EvidenceError naming the problem and what to paste ------------------------

BAD: list[tuple[str, str, tuple[str, ...]]] = [
    ("proc-limits", "", ("Max open files", "/limits")),
    (
        "proc-limits",
        "Limit  Soft Limit  Hard Limit  Units\nMax processes 10 10 processes",
        ("Max open files", "worker"),
    ),
    (
        "proc-limits",
        "Max open files            lots                 1024                 files",
        ("Max open files soft limit", "'lots'"),
    ),
    (
        "proc-limits",
        "$ cat /proc/999999/limits\ncat: /proc/999999/limits: No such file or directory",
        ("No such file", "pgrep"),
    ),
    ("proc-limits", "Max open files 1024 1024 files\nMax open files 4096 4096 files", ("more than one process",)),
    ("ulimit", "hello", ("ulimit -Sn",)),
    ("ulimit", "$ ulimit\nunlimited", ("file-size",)),
    (
        "ulimit",
        "$ ulimit -n\nbash: ulimit: open files: cannot modify limit: Operation not permitted",
        ("ulimit failed",),
    ),
    ("ulimit", "open files                          (-n) many", ("'many'",)),
    ("systemctl-show", "LimitNOFILESoft=1024", ("LimitNOFILE=", "systemctl show")),
    (
        "systemctl-show",
        "$ systemctl show ngnix -p LoadState -p LimitNOFILE\nLimitNOFILE=524288\nLoadState=not-found",
        ("ngnix.service", "list-units"),
    ),
    ("systemctl-show", "LimitNOFILE=lots", ("LimitNOFILE", "'lots'")),
    ("sysctl", "net.core.somaxconn = 4096", ("fs.nr_open", "sysctl fs.nr_open fs.file-max")),
    ("sysctl", "fs.nr_open = big", ("fs.nr_open", "'big'")),
    ("sysctl", "1048576", ("sysctl fs.nr_open",)),
    ("file-nr", "1024", ("three numbers", "file-nr")),
    ("file-nr", "1 2 3\n4 5 6", ("several",)),
    ("nproc", "", ("nothing",)),
    ("nproc", "8\n16", ("2 lines",)),
    ("nproc", "0", ("printed 0",)),
    ("nproc", "$ nproc\nbash: nproc: command not found", ("command failed",)),
    ("ss-count", "State  Recv-Q Send-Q\nESTAB  0  0", ("single number", "wc -l")),
    ("ss-s", "Total: 47", ("TCP:", "ss -s")),
    ("ss-s", "TCP:   18 (estab 2, closed 3)", ("orphaned", "timewait")),
    ("ps", "$ pgrep nginx\n24011\n25102", ("bare pids", "pgrep -a")),
    ("ps", "root  1  0.0  0.0  4 4 ?  Ss 09:00 0:00 /sbin/init", ("no nginx process", "ps -o")),
]


@pytest.mark.parametrize(("kind", "text", "needles"), BAD, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD)])
def test_wrong_paste_says_what_to_paste(kind: str, text: str, needles: tuple[str, ...]) -> None:
    with pytest.raises(EvidenceError) as exc:
        PARSERS[kind](text)
    message = str(exc.value)
    for needle in needles:
        assert needle in message, message
    assert isinstance(exc.value, ValueError)


PIECES = st.sampled_from(
    [
        "$ ",
        "# ",
        "ulimit -n",
        "Max open files",
        "            ",
        "1024",
        "unlimited",
        "infinity",
        "\t",
        "LimitNOFILE=",
        "fs.nr_open = ",
        "TCP:   ",
        "(estab 1, closed 2, orphaned 0, timewait 3)",
        "Total: ",
        "nginx: worker process",
        "nginx: master process",
        "root",
        " 1 ",
        "PID PPID USER CMD",
        "(-n)",
        "\n",
        "/proc/12/limits",
        "```",
        "> ",
        "open files",
        "-n: file descriptors",
        "nproc: ",
        "99999999999999999999999",
    ]
)
EVIDENCEISH = st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PARSERS)), st.one_of(st.text(max_size=2000), EVIDENCEISH))
def test_parsers_raise_only_evidence_errors(kind: str, text: str) -> None:
    try:
        PARSERS[kind](text)
    except EvidenceError as exc:
        assert str(exc)
