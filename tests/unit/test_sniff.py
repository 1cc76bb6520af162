"""sniff cuts a mixed paste into typed sections, in order, and never guesses or raises."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.evidence import (
    SECTION_KINDS,
    Section,
    UlimitValues,
    command_kind,
    parse_nproc,
    parse_proc_limits,
    parse_ulimit,
    prompt_command,
    sniff,
)

SNIFF = Path(__file__).resolve().parents[1] / "data" / "evidence" / "sniff"


def shape(sections: list[Section]) -> list[tuple[str, int, int, str | None]]:
    return [(s.kind, s.start_line, s.end_line, s.name) for s in sections]


def kinds(text: str) -> list[str]:
    return [s.kind for s in sniff(text)]


@pytest.mark.parametrize("path", sorted(SNIFF.glob("*.txt")), ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    expected = [
        (e["kind"], e["start_line"], e["end_line"], e["name"])
        for e in json.loads(path.with_suffix(".json").read_text())
    ]
    assert shape(sniff(path.read_text())) == expected


def proc_limits_table(rows: list[tuple[str, str, str, str]]) -> str:
    """A /proc/PID/limits table as the kernel pads it ("%-25s %-20s %-20s %-10s")."""
    lines = [f"{'Limit':<25} {'Soft Limit':<20} {'Hard Limit':<20} {'Units':<10}"]
    lines += [f"{name:<25} {soft:<20} {hard:<20} {unit:<10}" for name, soft, hard, unit in rows]
    return "\n".join(lines) + "\n"


LIMITS = proc_limits_table(
    [
        ("Max cpu time", "unlimited", "unlimited", "seconds"),
        ("Max processes", "63238", "63238", "processes"),
        ("Max open files", "1024", "524288", "files"),
        ("Max locked memory", "8388608", "8388608", "bytes"),
    ]
)

MIXED = """\
2024/05/06 03:12:01 [alert] 812#812: *99120 socket() failed (24: Too many open files) while connecting to upstream, client: 10.1.2.3, server: shop.example.com, request: "GET /cart HTTP/1.1", upstream: "http://10.0.0.5:8080/cart", host: "shop.example.com"
2024/05/06 03:12:01 [alert] 812#812: 1024 worker_connections are not enough
2024/05/06 03:12:02 [crit] 813#813: accept4() failed (24: Too many open files)

$ sudo nginx -T
nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
nginx: configuration file /etc/nginx/nginx.conf test is successful
# configuration file /etc/nginx/nginx.conf:
user www-data;
worker_processes auto;
pid /run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/conf.d/shop.conf:
upstream shop {
    server 10.0.0.5:8080;
}
server {
    listen 80;
    server_name shop.example.com;
    location / { proxy_pass http://shop; }
}

$ cat /proc/1234/limits
{LIMITS}$ nproc
8
How many worker_connections can I set without raising the open files limit?
""".replace("{LIMITS}", LIMITS)  # noqa: E501 (a verbatim paste)


def test_mixed_paste_in_order() -> None:
    got = shape(sniff(MIXED))
    assert got == [
        ("errorlog", 1, 3, None),
        ("nginx-t", 5, 7, "sudo nginx -T"),
        ("nginx-T", 8, 29, "/etc/nginx/nginx.conf"),
        ("proc-limits", 31, 36, "cat /proc/1234/limits"),
        ("nproc", 37, 38, "nproc"),
        ("question", 39, 39, None),
    ]


def test_mixed_paste_sections_feed_the_parsers() -> None:
    by_kind = {s.kind: s for s in sniff(MIXED)}
    proc = parse_proc_limits(by_kind["proc-limits"].text)
    assert (proc.pid, proc.nofile_soft, proc.nofile_hard) == (1234, 1024, 524288)
    assert parse_nproc(by_kind["nproc"].text) == 8
    dump = by_kind["nginx-T"].text
    assert dump.count("# configuration file ") == 2 and dump.rstrip().endswith("}")


def test_only_a_dump_is_one_section_named_after_the_main_file() -> None:
    path = SNIFF / "only-dump.txt"
    sections = sniff(path.read_text())
    assert [(s.kind, s.name) for s in sections] == [("nginx-T", "/tmp/sniffT/nginx.conf")]
    assert sections[0].text == path.read_text().rstrip("\n")


def test_only_a_limits_table() -> None:
    sections = sniff((SNIFF / "only-limits.txt").read_text())
    assert [s.kind for s in sections] == ["proc-limits"]
    assert parse_proc_limits(sections[0].text).nofile_soft == 2048


def test_compose_wrapped_lines_stay_one_log() -> None:
    sections = sniff((SNIFF / "compose-wrapped.txt").read_text())
    assert [(s.kind, s.start_line, s.end_line) for s in sections] == [("errorlog", 1, 5)]


def test_bare_number_without_prompt_is_unknown() -> None:
    assert kinds("8") == ["unknown"]
    assert kinds("$ nproc\n8") == ["nproc"]
    assert kinds("$ ulimit -Hn\nunlimited") == ["ulimit"]
    assert kinds("$ ss -tan state established | wc -l\n523") == ["ss-count"]
    assert kinds("$ cat /proc/sys/fs/nr_open\n1048576") == ["sysctl"]


def test_slack_paste_with_fences_and_a_command_without_prompt() -> None:
    text = """<@U123ABC> our site is throwing 500s, here's the log:
```
2024/05/06 03:12:01 [alert] 812#812: *9 socket() failed (24: Too many open files) while connecting to upstream
```
and limits:
```
$ cat /proc/$(cat /run/nginx.pid)/limits | grep files
Max open files            1024                 4096                 files
```
```ulimit -n
1024```
what should worker_rlimit_nofile be?"""
    assert [(s.kind, s.name) for s in sniff(text)] == [
        ("unknown", None),
        ("errorlog", None),
        ("unknown", None),
        ("proc-limits", "cat /proc/$(cat /run/nginx.pid)/limits | grep files"),
        ("ulimit", "ulimit -n"),
        ("question", None),
    ]
    ulimit = next(s for s in sniff(text) if s.kind == "ulimit")
    assert parse_ulimit(ulimit.text) == UlimitValues(1024, None, True, False)


def test_prose_that_starts_like_a_command_is_not_one() -> None:
    assert kinds("ps shows two masters after the reload.\n8") == ["unknown"]


def test_a_blank_line_ends_what_a_prompt_announced() -> None:
    assert kinds("$ nproc\n\n8") == ["nproc", "unknown"]


def test_two_limits_tables_stay_apart() -> None:
    table = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 4096                 files     \n"
    )
    text = f"# cat /proc/10/limits\n{table}# cat /proc/11/limits\n{table}"
    assert shape(sniff(text)) == [
        ("proc-limits", 1, 3, "cat /proc/10/limits"),
        ("proc-limits", 4, 6, "cat /proc/11/limits"),
    ]


def test_same_kind_merges_across_blank_lines() -> None:
    text = "2024/01/01 00:00:00 [error] 1#1: a\n\n2024/01/01 00:00:01 [error] 1#1: b\n"
    assert shape(sniff(text)) == [("errorlog", 1, 3, None)]
    text = "root@web1:~# ulimit -Sn\n1024\nroot@web1:~# ulimit -Hn\n4096\n"
    sections = sniff(text)
    assert shape(sections) == [("ulimit", 1, 4, "ulimit -Sn; ulimit -Hn")]
    assert parse_ulimit(sections[0].text) == UlimitValues(1024, 4096, True, True)


def test_init_warning_between_verdicts_is_nginx_t_but_a_failed_test_error_is_a_log_line() -> None:
    ok = (
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
        "nginx: [warn] 4096 worker_connections exceed open file resource limit: 1024\n"
        "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
    )
    assert shape(sniff(ok)) == [("nginx-t", 1, 3, None)]
    failed = (
        'nginx: [emerg] unknown directive "worker_connection" in /etc/nginx/nginx.conf:12\n'
        "nginx: configuration file /etc/nginx/nginx.conf test failed\n"
    )
    assert kinds(failed) == ["errorlog", "nginx-t"]


def test_wrapped_long_line_continues_the_log() -> None:
    text = (
        "2024/05/06 03:12:01 [error] 812#812: *9 upstream timed out (110: Connection timed out) while\n"
        '  reading response header from upstream, client: 10.1.2.3, server: a, request: "GET / HTTP/1.1"\n'
    )
    assert shape(sniff(text)) == [("errorlog", 1, 2, None)]


def test_dump_survives_lua_braces_and_comment_that_looks_like_a_prompt() -> None:
    text = """\
# configuration file /etc/nginx/nginx.conf:
http {
    # cat /proc/1/limits shows the master, not a worker
    server {
        location /t {
            content_by_lua_block { ngx.say("}") }
        }
    }
}

$ ps -o pid,ppid,user,etime,cmd -C nginx
  PID  PPID USER         ELAPSED CMD
    1     0 root           01:02 nginx: master process nginx -g daemon off;
"""
    assert shape(sniff(text)) == [
        ("nginx-T", 1, 9, "/etc/nginx/nginx.conf"),
        ("ps", 11, 13, "ps -o pid,ppid,user,etime,cmd -C nginx"),
    ]


def test_dump_ends_at_evidence_without_a_prompt() -> None:
    text = """\
# configuration file /etc/nginx/nginx.conf:
events { worker_connections 1024; }

root         1  0.0  0.1  10648  6012 ?        Ss   09:12   0:00 nginx: master process nginx -g daemon off;
Does this look right?
"""
    assert kinds(text) == ["nginx-T", "ps", "question"]


def test_question_paragraph_takes_its_prose() -> None:
    text = "We moved to Kubernetes last week.\nSince then we see 502s under load.\nWhat should we check first?\n"
    assert shape(sniff(text)) == [("question", 1, 3, None)]
    assert kinds("We moved to Kubernetes last week.") == ["unknown"]


@pytest.mark.parametrize(
    ("line", "cmd"),
    [
        ("$ ulimit -n", "ulimit -n"),
        ("root@web1:~# cat /proc/123/limits", "cat /proc/123/limits"),
        ("[root@web1 ~]# nproc", "nproc"),
        ("deploy@web-1:/etc/nginx$ sudo nginx -T", "sudo nginx -T"),
        ("/ # ulimit -Hn", "ulimit -Hn"),
        ("bash-5.1# ss -s", "ss -s"),
        ("# sysctl fs.nr_open", "sysctl fs.nr_open"),
        ("# configuration file /etc/nginx/nginx.conf:", None),
        ("# worker_connections 1024;", None),
        ("> quoted text from someone", None),
        ("2024/05/06 03:12:01 [error] 1#1: x", None),
    ],
)
def test_prompts(line: str, cmd: str | None) -> None:
    assert prompt_command(line) == cmd


@pytest.mark.parametrize(
    ("cmd", "kind"),
    [
        ("cat /proc/$(pgrep -f 'nginx: worker' | head -1)/limits", "proc-limits"),
        ("cat /proc/sys/fs/file-nr", "file-nr"),
        ("ulimit -a", "ulimit"),
        ("systemctl show nginx -p LimitNOFILE", "systemctl-show"),
        ("sysctl fs.nr_open fs.file-max", "sysctl"),
        ("nproc", "nproc"),
        ("ss -tan state established | wc -l", "ss-count"),
        ("ss -s", "ss-s"),
        ("ps aux | grep nginx", "ps"),
        ("sudo nginx -t", "nginx-t"),
        ("tail -n 50 /var/log/nginx/error.log", "errorlog"),
        ("free -m", "free"),  # read since issue 9 (memory for php-fpm's pm.max_children)
        ("uptime", None),
        ("ss -ltnp", "ss-listen"),
        ("ss -lxp | grep php", "ss-listen"),
        ("getent ahosts localhost", "getent"),
        ("sudo php-fpm8.2 -tt", "php-fpm-pool"),
        ("grep -HnE '^(pm|listen)' /etc/php/*/fpm/pool.d/*.conf", "php-fpm-pool"),
        ("ps -o pid,rss,cmd -C php-fpm8.2", "ps-fpm"),
        ("nginx -V 2>&1", "nginx-V"),
    ],
)
def test_command_kinds(cmd: str, kind: str | None) -> None:
    assert command_kind(cmd) == kind


def test_large_paste_is_linear() -> None:
    block = MIXED + "\n".join(["x" * 5000, "{" * 3000, "$ nproc", "8", ""])
    text = block * 300  # ~15k lines, long lines included
    started = time.process_time()  # CPU time: a busy machine does not fail it
    sections = sniff(text)
    assert time.process_time() - started < 20
    assert sections and sections[-1].end_line <= len(text.splitlines())


PIECES = st.sampled_from(
    [
        "$ ",
        "# ",
        "root@h:~# ",
        "/ # ",
        "nproc",
        "ulimit -n",
        "cat /proc/1/limits",
        "ss -s",
        "\n",
        "\n\n",
        "8",
        "# configuration file /x.conf:\n",
        "{",
        "}",
        ";",
        '"',
        "'",
        "\\",
        "http {",
        "Max open files            1024 1024 files",
        "Limit                     Soft Limit           Hard Limit           Units",
        "LimitNOFILE=1",
        "fs.nr_open = 5",
        "1\t2\t3",
        "Total: 4",
        "TCP:   1 (estab 1, closed 0, orphaned 0, timewait 0)",
        "nginx: worker process",
        "2024/01/01 00:00:00 [error] 1#1: ",
        "nginx: [warn] x",
        "nginx: the configuration file /x syntax is ok",
        "nginx: configuration file /x test is successful",
        "why?",
        "How ",
        "web_1  | ",
        "```",
        "  ",
        "\t",
        "\r\n",
    ]
)
PASTES = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=60).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=3000), PASTES))
def test_sections_cover_every_line_in_order(text: str) -> None:
    lines = text.splitlines()
    sections = sniff(text)
    covered: set[int] = set()
    previous_end = 0
    for section in sections:
        assert section.kind in SECTION_KINDS
        assert section.start_line > previous_end
        first, last = section.start_line - 1, section.end_line - 1
        assert section.text == "\n".join(lines[first : last + 1])
        assert sniff(lines[first]) and sniff(lines[last])  # sections start and end on content
        covered.update(range(first, last + 1))
        previous_end = section.end_line
    for i, line in enumerate(lines):
        if i not in covered:
            assert sniff(line) == [], f"line {i + 1} {line!r} is in no section"
