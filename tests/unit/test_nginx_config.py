"""parse_dump against real `nginx -T` captures (Debian nginx 1.22.1) and damaged variants of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.cli.parallel import process_map
from bot.evidence import PASTED, ConfigParseError, parse_dump
from bot.evidence.nginx_config.parse import SPREAD_MIN_BYTES

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data" / "nginx-T"
GOLDEN = sorted(p.stem for p in DATA.glob("*.txt"))
REAL_DUMPS = ["debian-default", "multi-include", "stream-grpc"]


def _read(name: str) -> str:
    # binary-junk.txt holds bytes that are not UTF-8, as a paste of a binary file would
    return (DATA / f"{name}.txt").read_bytes().decode("utf-8", errors="replace")


def test_every_fixture_has_a_golden_summary() -> None:
    assert len(GOLDEN) >= 10
    for name in GOLDEN:
        assert (DATA / f"{name}.json").exists(), f"{name}.txt has no {name}.json"


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_summary(name: str) -> None:
    expected = json.loads((DATA / f"{name}.json").read_text())
    assert parse_dump(_read(name)).summary() == expected


@pytest.mark.parametrize("name", REAL_DUMPS)
def test_files_keep_exact_content(name: str) -> None:
    """Re-emitting the files the way nginx does gives back the dump byte for byte."""
    text = _read(name)
    config = parse_dump(text)
    rebuilt = "".join(f"# configuration file {path}:\n{content}\n" for path, content in config.files.items())
    assert text.endswith(rebuilt)
    assert not config.errors


def test_multi_include_facts() -> None:
    c = parse_dump(_read("multi-include"))
    assert c.main_file == "/tmp/ngx-fix/multi/nginx.conf"
    assert c.worker_connections is not None
    assert (c.worker_connections.args, c.worker_connections.at) == (("1024",), "/tmp/ngx-fix/multi/nginx.conf:7")
    assert c.worker_rlimit_nofile is None
    assert c.user is not None and c.user.args == ("www-data",)
    assert c.http2_enabled and not c.http3_enabled and not c.stream_proxy
    api = "/tmp/ngx-fix/multi/sites-enabled/api.example.com"
    proxy = next(p for p in c.proxies if p.directive == "proxy_pass" and p.file == api)
    assert (proxy.upstream, proxy.line, proxy.context) == ("app_backend", 11, "http")
    up = c.upstreams["app_backend"]
    assert up.keepalive == 32
    assert [s.max_fails for s in up.servers] == [3, None, None]
    assert [s.backup for s in up.servers] == [False, False, True]
    assert up.servers[0].fail_timeout == "10s"
    read = c.find("proxy_read_timeout")
    assert [(d.file, d.line, d.context) for d in read] == [
        ("/tmp/ngx-fix/multi/nginx.conf", 15, ("http",)),
        (api, 12, ("http", "server", "location /api/")),
    ]
    assert {
        "proxy_read_timeout",
        "proxy_connect_timeout",
        "keepalive_timeout",
        "fastcgi_read_timeout",
        "proxy_send_timeout",
    } <= set(c.timeouts)
    assert [d.args[0] for d in c.limit_req] == ["zone=perip"]
    assert [d.args for d in c.limit_conn] == [("addr", "10")]
    php = next(d for d in c.find("fastcgi_pass"))
    assert php.context == ("http", "server", "location ~ \\.php$")
    # included from inside the php location: fastcgi_params directives carry that context and their own file
    param = c.find("fastcgi_param")[0]
    assert param.file == "/etc/nginx/fastcgi_params" and param.line == 2
    assert param.context == php.context


def test_stream_dump() -> None:
    c = parse_dump(_read("stream-grpc"))
    assert c.stream_proxy
    assert c.upstreams["dns_servers"].context == "stream"
    stream_listen = [li for li in c.listens if li.context == "stream"]
    assert [(li.address, li.port) for li in stream_listen] == [("127.0.0.1", 39053), ("*", 39004)]
    grpc = next(p for p in c.proxies if p.directive == "grpc_pass")
    assert grpc.upstream == "grpc_backend"
    dynamic = next(p for p in c.proxies if "$" in p.target)
    assert dynamic.upstream is None


def test_third_party_directive_is_kept() -> None:
    c = parse_dump(_read("third-party"))
    [more] = c.find("more_set_headers")
    assert more.args == ("X-Frame-Options: DENY",)
    assert (more.file, more.line) == ("/tmp/ngx-fix/multi/sites-enabled/api.example.com", 4)
    assert not c.errors


def test_truncated_paste_names_file_and_line() -> None:
    c = parse_dump(_read("truncated"))
    api = "/tmp/ngx-fix/multi/sites-enabled/api.example.com"
    assert {(e.file, e.line) for e in c.errors} == {(api, 12), (api, 7)}
    assert any("never closes" in e.message for e in c.errors)
    # everything before the cut is still there, in the right block
    assert c.upstreams["app_backend"].keepalive == 32
    assert any(p.upstream == "app_backend" for p in c.proxies)
    assert not c.find("proxy_read_tim")


def test_unbalanced_braces_keep_the_rest() -> None:
    c = parse_dump(_read("unbalanced"))
    [issue] = c.errors
    assert (issue.file, issue.line) == ("/tmp/ngx-fix/multi/conf.d/upstreams.conf", 12)
    assert set(c.upstreams) == {"app_backend", "php"}


def test_missing_include_is_reported() -> None:
    c = parse_dump(_read("missing-include"))
    [issue] = c.errors
    assert (issue.file, issue.line) == ("/tmp/ngx-fix/stream/nginx.conf", 31)
    assert "uwsgi_params" in issue.message


def test_binary_junk_is_ignored_not_fatal() -> None:
    c = parse_dump(_read("binary-junk"))
    [issue] = c.errors
    assert (issue.file, issue.line) == ("/tmp/ngx-fix/multi/conf.d/limits.conf", 3)
    assert c.find("limit_conn_zone") and c.upstreams["app_backend"].keepalive == 32


def test_shell_noise_around_the_dump() -> None:
    noisy, clean = parse_dump(_read("shell-noise")), parse_dump(_read("debian-default"))
    assert noisy.files == clean.files
    assert noisy.summary() == clean.summary()


def test_lone_server_block_parses_inside_http() -> None:
    c = parse_dump(_read("lone-server"))
    assert c.main_file == PASTED and list(c.files) == [PASTED]
    assert c.files[PASTED].startswith("server {\n")
    proxy = c.find("proxy_pass")[0]
    assert (proxy.line, proxy.context) == (8, ("http", "server", "location /"))
    assert [li.port for li in c.listens] == [39002, 39002]
    assert not c.errors


def test_lone_location_block() -> None:
    c = parse_dump("location /api {\n    proxy_pass http://127.0.0.1:39030;\n}\n")
    assert c.find("proxy_pass")[0].context == ("http", "server", "location /api")
    assert c.find("proxy_pass")[0].line == 2


def test_lone_nginx_conf_without_headers() -> None:
    c = parse_dump(_read("lone-nginx-conf"))
    assert c.main_file == PASTED
    assert c.worker_processes is not None and c.worker_processes.at == "(pasted):2"
    assert [e.line for e in c.errors] == [12]  # /etc/nginx/mime.types is not in the paste


def test_http3_and_http2_directive() -> None:
    c = parse_dump("http {\n server {\n  listen 443 quic reuseport;\n  listen 443 ssl;\n  http2 on;\n }\n}\n")
    assert c.http3_enabled and c.http2_enabled
    assert [(li.port, li.quic, li.ssl) for li in c.listens] == [(443, True, False), (443, False, True)]


def test_crlf_and_dump_without_trailing_newline() -> None:
    text = "# configuration file /etc/nginx/nginx.conf:\r\nevents {\r\n    worker_connections 10;\r\n}"
    c = parse_dump(text)
    assert c.files["/etc/nginx/nginx.conf"] == "events {\n    worker_connections 10;\n}"
    assert c.worker_connections is not None and c.worker_connections.line == 2


def test_relative_include_resolves_against_main_dir() -> None:
    text = (
        "# configuration file /opt/ngx/nginx.conf:\nhttp {\n    include site.conf;\n}\n\n"
        "# configuration file /opt/ngx/site.conf:\nserver {\n    listen 39040;\n}\n\n"
    )
    c = parse_dump(text)
    assert [(li.file, li.line, li.port) for li in c.listens] == [("/opt/ngx/site.conf", 2, 39040)]
    assert c.find("listen")[0].context == ("http", "server")


def test_host_filesystem_is_never_read() -> None:
    """An absolute glob include must match files of the paste only, not this machine's /etc/nginx."""
    text = (
        "# configuration file /etc/nginx/nginx.conf:\n"
        "http {\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/mime.types;\n}\n\n"
    )
    c = parse_dump(text)
    assert not c.find("types")
    assert [e.line for e in c.errors] == [3]


@pytest.mark.parametrize("text", ["", "   \n\n", "hello, my site is down, please help", "\x00\x01\x02\x03\xff"])
def test_nothing_like_config_raises(text: str) -> None:
    with pytest.raises(ConfigParseError, match="nginx -T"):
        parse_dump(text)


def test_every_cut_of_a_dump_parses_without_raising() -> None:
    text = _read("multi-include")
    for cut in range(300, len(text), 251):
        c = parse_dump(text[:cut])
        assert c.main_file == "/tmp/ngx-fix/multi/nginx.conf"
        for issue in c.errors:
            assert issue.file in c.files


# -- the files of a big dump on every CPU (the CLI's process pool, injected) --------------------


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory: pytest.TempPathFactory) -> str:
    from bench.bench_config import as_dump, generate_tree

    files = generate_tree(tmp_path_factory.mktemp("big-dump"), servers=3000, per_file=100, upstreams=60)
    dump = as_dump(files)
    assert len(dump) >= SPREAD_MIN_BYTES and len(files) >= 4
    return dump


def test_a_big_dump_spread_over_processes_parses_as_in_turn(big_dump: str) -> None:
    handed: list[int] = []

    def recording_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        handed.append(len(items))
        return process_map(fn, items)

    spread = parse_dump(big_dump, map_files=recording_map)
    in_turn = parse_dump(big_dump)
    assert handed == [len(in_turn.files)]  # every file went through the injected mapper, once
    assert spread == in_turn  # every directive, file, listener, upstream, proxy and issue
    assert spread.by_name == in_turn.by_name and spread.summary() == in_turn.summary()
    assert len(spread.listens) == 3000 and not spread.errors


def test_small_dumps_never_reach_the_mapper() -> None:
    def refusing_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        raise AssertionError("a small dump must be parsed in turn")

    for name in GOLDEN:
        assert parse_dump(_read(name), map_files=refusing_map).summary() == parse_dump(_read(name)).summary()


def _pid(_: int) -> int:
    return os.getpid()


_ALONE = """
import os
from bot.cli.parallel import process_map
from tests.unit.test_nginx_config import _pid
print(os.getpid() in process_map(_pid, list(range(8))), process_map(str.upper, ["a", "b", "c"]))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: process_map works in turn by design")
def test_process_map_forks_when_alone_and_works_in_turn_beside_a_thread() -> None:
    # A fresh interpreter is single-threaded, as the CLI is: the items run in child processes.
    alone = subprocess.run([sys.executable, "-c", _ALONE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert alone.stdout.strip() == "False ['A', 'B', 'C']", alone.stderr
    done = threading.Event()
    other = threading.Thread(target=done.wait)
    other.start()
    try:  # with another thread running, forking would copy it half-way: no pool
        assert process_map(_pid, list(range(8))) == [os.getpid()] * 8
    finally:
        done.set()
        other.join()
