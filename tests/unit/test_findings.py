"""Every required finding fires on the evidence that shows it, read through the real sniffer
and parsers from pastes as a user makes them, and stays silent on evidence that does not."""

from __future__ import annotations

import pytest

from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected

CONF = """$ sudo nginx -T
nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
nginx: configuration file /etc/nginx/nginx.conf test is successful
# configuration file /etc/nginx/nginx.conf:
user www-data;
worker_processes {workers};
{rlimit}
events {{
    worker_connections {wc};
}}
http {{
    upstream app {{
        server {upstream};
    }}
    server {{
        listen 80;
        server_name shop.example.com;
        location / {{
            proxy_pass http://app;
        }}
    }}
}}

"""

ALERT = '2024/03/02 10:11:12 [alert] 2719#2719: *51 {n} worker_connections are not enough while connecting to upstream, client: 10.0.0.1, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "http://10.0.0.9:8080/", host: "shop.example.com"\n'  # noqa: E501 (verbatim log line)
TIMEOUT = '2024/03/02 10:11:10 [error] 2719#2719: *50 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.2, server: shop.example.com, request: "GET /slow HTTP/1.1", upstream: "http://10.0.0.9:8080/slow", host: "shop.example.com"\n'  # noqa: E501 (verbatim log line)
EMFILE = "2024/03/02 10:11:12 [crit] 2719#2719: accept4() failed (24: Too many open files)\n"
SETRLIMIT = (
    "2024/03/02 10:11:00 [alert] 2719#2719: setrlimit(RLIMIT_NOFILE, 65535) failed (1: Operation not permitted)\n"
)

LIMITS = """$ cat /proc/{pid_expr}/limits
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             63704                63704                processes 
Max open files            {soft:<20} {hard:<20} files     
"""


def conf(workers="1", wc=1024, rlimit="", upstream="10.0.0.9:8080") -> str:
    return CONF.format(workers=workers, wc=wc, rlimit=rlimit, upstream=upstream)


def limits(soft: int, hard: int, pid_expr: str = "$(pgrep -nf '[n]ginx: worker process')") -> str:
    return LIMITS.format(soft=soft, hard=hard, pid_expr=pid_expr)


def finding_ids(kb, matcher, *pastes: str, target: int | None = None) -> set[str]:
    ev = Collected()
    for paste in pastes:
        ev.add_text(paste, matcher)
    assert not ev.problems, ev.problems
    return {f.id for f in diagnose_evidence(ev, kb, target).findings}


def test_fd_limit_below_connections(kb, matcher):
    ids = finding_ids(kb, matcher, EMFILE, conf(wc=4096), limits(1024, 524288))
    assert "fd-limit-below-connections" in ids
    assert "fd-limit-below-connections" not in finding_ids(
        kb, matcher, ALERT.format(n=1024), conf(wc=1024), limits(65535, 65535)
    )


def test_setrlimit_not_permitted_and_restart_needed(kb, matcher):
    ids = finding_ids(
        kb, matcher, SETRLIMIT + EMFILE, conf(wc=4096, rlimit="worker_rlimit_nofile 65535;"), limits(1024, 4096)
    )
    assert {"setrlimit-not-permitted", "restart-needed"} <= ids


def test_limits_read_from_master(kb, matcher):
    ids = finding_ids(
        kb,
        matcher,
        EMFILE,
        conf(wc=4096, rlimit="worker_rlimit_nofile 8192;"),
        limits(1024, 524288, "$(pgrep -o nginx)"),
    )
    assert "limits-read-from-master" in ids
    worker = finding_ids(kb, matcher, EMFILE, conf(wc=4096, rlimit="worker_rlimit_nofile 8192;"), limits(8192, 8192))
    assert "limits-read-from-master" not in worker


def test_limits_conf_ignored_by_systemd(kb, matcher):
    limits_conf = "$ cat /etc/security/limits.conf\n*   soft   nofile   65535\n*   hard   nofile   65535\n"
    ids = finding_ids(kb, matcher, EMFILE, limits_conf, "$ systemctl show nginx -p LimitNOFILE\nLimitNOFILE=1024\n")
    assert "limits-conf-ignored-by-systemd" in ids


def test_old_workers_keep_limits(kb, matcher):
    ps = (
        "$ ps -o pid,ppid,user,etime,cmd -C nginx\n"
        "    PID    PPID USER         ELAPSED CMD\n"
        "   2718       1 root        01:02:03 nginx: master process /usr/sbin/nginx\n"
        "   2719    2718 www-data       10:00 nginx: worker process is shutting down\n"
        "   3001    2718 www-data       00:05 nginx: worker process\n"
    )
    assert "old-workers-keep-limits" in finding_ids(kb, matcher, ALERT.format(n=1024), ps)


def test_proxy_loop(kb, matcher):
    assert "proxy-loop" in finding_ids(kb, matcher, ALERT.format(n=1024), conf(upstream="127.0.0.1:80"))
    assert "proxy-loop" not in finding_ids(kb, matcher, ALERT.format(n=1024), conf(upstream="10.0.0.9:8080"))


def test_cache_manager_connections(kb, matcher):
    line = "2024/03/02 10:11:12 [alert] 2721#2721: 512 worker_connections are not enough\n"
    assert "cache-manager-connections" in finding_ids(kb, matcher, line, conf(wc=10240))
    assert "cache-manager-connections" not in finding_ids(kb, matcher, line, conf(wc=512))


def test_slow_upstream(kb, matcher):
    assert "slow-upstream" in finding_ids(kb, matcher, TIMEOUT + ALERT.format(n=1024), conf())
    assert "slow-upstream" not in finding_ids(kb, matcher, ALERT.format(n=1024), conf())


@pytest.mark.parametrize(
    ("workers", "cpu_max", "fires"),
    [
        ("auto", "200000 100000", True),  # 64 workers in a 2-CPU container
        ("2", "200000 100000", False),
    ],
)
def test_worker_processes_vs_cpus(kb, matcher, workers, cpu_max, fires):
    nproc = f"$ nproc; cat /sys/fs/cgroup/cpu.max\n64\n{cpu_max}\n"
    ids = finding_ids(kb, matcher, ALERT.format(n=1024), conf(workers=workers), nproc)
    assert ("worker-processes-vs-cpus" in ids) is fires


def test_plain_alert_has_only_its_own_finding(kb, matcher):
    ids = finding_ids(kb, matcher, ALERT.format(n=1024), conf(), limits(65535, 65535))
    assert ids == {"worker-connections-not-enough"}
