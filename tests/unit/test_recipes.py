"""Recipes as data: value helpers, placement at the handling block, a YAML-only recipe,
zero-context hunks for files outside nginx, the user's values in commands."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest

from bot.diagnosis import Collected, diagnose_evidence
from bot.diagnosis.line_diff import LineEdit, line_diff
from bot.diagnosis.recipe_values import duration_text, number, seconds, size_bytes, size_limit, size_text
from bot.diagnosis.user_values import fill_placeholders, pasted_names
from bot.knowledge.loader import builtin_kb_dir, load_kb
from bot.matching import Matcher
from bot.sizing import SizingInput
from bot.sizing.recommend import fd_exhausted_at
from tests.unit.test_routing import DUMP


def test_sizes_and_times_read_and_written_as_nginx_does():
    assert size_bytes("2000M") == 2000 * 1024 * 1024 and size_bytes("1m") == 1 << 20 and size_bytes("12") == 12
    assert size_bytes("3.5g") is None and size_bytes("\u0661\u0662k") is None and size_bytes("9" * 40) is None
    assert size_limit(2785017856) == "3g" and size_limit(5000) == "6k" and size_limit(5 * 1024 * 1024) == "6m"
    assert size_text(16384) == "16k" and size_text(1 << 30) == "1g" and size_text(1000) == "1000"
    assert seconds("1m30s") == 90 and seconds("300") == 300 and seconds("500ms") == 0.5
    assert seconds("1x") is None and seconds("\u0661s") is None
    assert duration_text(120) == "120s" and duration_text(0.2) == "1s"
    assert number("1048577+4096") == 1052673 and number("12a") is None


def _diagnose(kb, matcher, *pastes):
    ev = Collected()
    for text in pastes:
        ev.add_text(text, matcher)
    return diagnose_evidence(ev, kb)


def test_413_lands_on_the_existing_line_of_the_handling_location(kb, matcher):
    line = (
        "2024/05/14 09:12:41 [error] 1#1: *5 client intended to send too large body: 2785017856 bytes, "
        'client: 203.0.113.7, server: app.example.org, request: "POST /upload/x HTTP/1.1", host: "app.example.org"'
    )
    d = _diagnose(kb, matcher, DUMP, line)
    (rec,) = [r for r in d.recommendations if r.directive == "client_max_body_size"]
    # the server sets 2000M; /upload/ sets none, so the change is inserted there
    assert (rec.file, rec.line, rec.current, rec.recommended) == ("/etc/nginx/sites-enabled/app", 8, "2000M", "3g")
    assert rec.context == "http > server(app.example.org) > location /upload/"
    assert "+\t\tclient_max_body_size 3g;\n" in d.diff


def test_a_limit_already_above_the_body_changes_nothing(kb, matcher):
    line = (
        "2024/05/14 09:12:41 [error] 1#1: *5 client intended to send too large body: 2048 bytes, "
        'client: 203.0.113.7, server: app.example.org, request: "POST /upload/x HTTP/1.1", host: "app.example.org"'
    )
    d = _diagnose(kb, matcher, DUMP, line)
    assert not [r for r in d.recommendations if r.directive == "client_max_body_size"]


def test_a_connect_timeout_is_not_raised(kb, matcher):
    line = (
        "2024/05/14 10:02:11 [error] 1#1: *8 upstream timed out (110: Connection timed out) while connecting to "
        'upstream, client: 1.2.3.4, server: app.example.org, request: "GET /upload/a HTTP/1.1", '
        'upstream: "http://127.0.0.1:9000/upload/a", host: "app.example.org"'
    )
    d = _diagnose(kb, matcher, DUMP, line)
    assert not [r for r in d.recommendations if r.directive.endswith("_timeout")]
    assert any("'http://127.0.0.1:9000/upload/a'" in c.command for c in d.commands)  # the user's URL, no BACKEND


def test_a_yaml_only_request_recipe_lands_at_the_handling_location(tmp_path, monkeypatch):
    extra = tmp_path / "kb"
    (extra / "recipes").mkdir(parents=True)
    (extra / "errors").mkdir()
    (extra / "recipes" / "keep-connections.yaml").write_text(
        """id: keep-connections
title: Keep the connections to the backend open
facts: request
changes:
  - directive: "{{ upstream_module }}_http_version"
    block: location
    value: "'1.1'"
    current: "effective(upstream_module ~ '_http_version') or '1.0'"
    when: "upstream_module == 'proxy'"
    why: "keepalive to {{ facts.upstream }} needs HTTP/1.1"
"""
    )
    entry = builtin_kb_dir() / "errors"
    text = (entry / "upstream-prematurely-closed.yaml").read_text()
    (extra / "errors" / "upstream-prematurely-closed.yaml").write_text(
        text.replace("\nreferences:", "\nrecipes: [keep-connections]\nreferences:", 1)
    )
    kb = load_kb([entry.parent, extra])
    line = (
        "2024/05/14 10:02:11 [error] 1#1: *8 upstream prematurely closed connection while reading response header "
        'from upstream, client: 1.2.3.4, server: app.example.org, request: "GET /report/a HTTP/1.1", '
        'upstream: "http://127.0.0.1:9000/report/a", host: "app.example.org"'
    )
    d = _diagnose(kb, Matcher(kb), DUMP, line)
    (rec,) = [r for r in d.recommendations if r.directive == "proxy_http_version"]
    assert (rec.line, rec.recommended, rec.context) == (12, "1.1", "http > server(app.example.org) > location /report/")


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch")
def test_zero_context_hunks_apply_with_patch(tmp_path):
    pool = tmp_path / "www.conf"
    pool.write_text("[www]\nlisten = /run/php/x.sock\n;c\npm.max_children = 5\n")
    diff = line_diff(
        [
            LineEdit(str(pool), 4, "pm.max_children = 5", "pm.max_children = 20"),
            LineEdit(str(pool), 2, None, "listen.backlog = 4096"),
        ]
    )
    done = subprocess.run(["patch", "-p0"], input=diff, cwd="/", capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert pool.read_text().splitlines() == [
        "[www]",
        "listen = /run/php/x.sock",
        "listen.backlog = 4096",
        ";c",
        "pm.max_children = 20",
    ]


def test_pasted_names_fill_the_environments_placeholders():
    ev = Collected()
    ev.env_text = ["$ docker exec -it shop-nginx nginx -T", "$ kubectl -n store logs deploy/ingress"]
    names = pasted_names(ev)
    assert names["container"] == "shop-nginx" and names["namespace"] == "store"
    cmd = fill_placeholders("docker exec <container> nginx -t", {"<container>": "container"}, names)
    assert cmd == "docker exec shop-nginx nginx -t"
    assert fill_placeholders("docker exec <container> nginx -t", {"<container>": "container"}, {}) == (
        "docker exec <container> nginx -t"
    )


def test_fd_exhausted_at_about_worker_connections_only():
    at = SizingInput(worker_connections=1024, worker_nofile_soft=1024, worker_nofile_hard=524288)
    assert fd_exhausted_at(at) is None  # no EMFILE seen
    assert fd_exhausted_at(replace(at, observed_fd_exhausted=True)) == 1024
    assert fd_exhausted_at(replace(at, observed_fd_exhausted=True, worker_nofile_soft=32)) is None
    assert fd_exhausted_at(replace(at, observed_fd_exhausted=True, worker_nofile_soft=65535)) is None


def test_proxy_loop_ignores_a_port_another_program_listens_on(kb, matcher):
    conf = "http {\n server {\n  listen 8080;\n  location / { proxy_pass http://127.0.0.1:8080; }\n }\n}\n"
    loop = _diagnose(kb, matcher, conf)
    assert "proxy-loop" in {f.id for f in loop.findings}
    ss = (
        "$ ss -ltnp\nState  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
        'LISTEN 0      2048       127.0.0.1:8080       0.0.0.0:*    users:(("gunicorn",pid=655,fd=5))\n'
    )
    assert "proxy-loop" not in {f.id for f in _diagnose(kb, matcher, conf, ss).findings}


def test_a_doubtful_route_says_why_in_the_recommendation(kb, matcher):
    line = (
        "2024/05/14 11:40:02 [error] 1#1: *9 upstream sent too big header while reading response header from "
        'upstream, client: 1.2.3.4, server: app.example.org, request: "GET /report/a HTTP/1.1", '
        'upstream: "http://127.0.0.1:9000/report/a", host: "app.example.org"'
    )
    d = _diagnose(kb, matcher, DUMP, line)
    rec = next(r for r in d.recommendations if r.directive == "proxy_buffer_size")
    assert rec.line == 12 and "(check the block: " in rec.why
    assert "an `if` block there may send it elsewhere)" in rec.why


def test_diagnostic_commands_carry_the_backend_and_name_from_the_lines(kb, matcher):
    """No UPSTREAM_HOST/PORT/NAME placeholder where the pasted lines name the value (issue 9, item 5)."""
    tail = ', client: 10.0.0.1, server: shop.example.com, request: "GET /api/cart HTTP/1.1"'
    lines = [
        "2026/12/01 10:00:02 [error] 12#12: *5 upstream prematurely closed connection while reading response"
        f' header from upstream{tail}, upstream: "http://10.1.2.3:8080/api/cart", host: "shop.example.com"',
        "2026/12/01 10:00:03 [error] 12#12: *6 upstream sent no valid HTTP/1.0 header while reading response"
        f' header from upstream{tail}, upstream: "http://10.1.2.4:8443/api/cart", host: "shop.example.com"',
        "2026/12/01 10:00:04 [error] 12#12: *7 backend.internal could not be resolved (3: Host not found)"
        f'{tail}, host: "shop.example.com"',
    ]
    conf = (
        "# configuration file /etc/nginx/nginx.conf:\n"
        "events {}\nhttp {\n    resolver 127.0.0.11:53 valid=10s;\n"
        "    server {\n        listen 80;\n        server_name shop.example.com;\n"
        "        location / { proxy_pass http://10.1.2.3:8080; }\n    }\n}\n"
    )
    d = _diagnose(kb, matcher, conf, "\n".join(lines))
    commands = [c.command for c in d.commands]
    text = "\n".join(commands)
    assert "curl -sv -o /dev/null 'http://10.1.2.3:8080/api/cart'" in commands
    assert any("nc -w 3 10.1.2.4 8443" in c and "Host: shop.example.com" in c for c in commands)
    assert "curl -sv --http1.1 http://10.1.2.4:8443/" in text
    assert "dig +short @127.0.0.11 backend.internal" in commands
    assert "getent ahosts backend.internal; cat /etc/resolv.conf" in commands
    for placeholder in ("UPSTREAM_HOST", "RESOLVER_IP", "BACKEND:PORT", " NAME"):
        assert placeholder not in text


def test_no_curl_against_a_fastcgi_backend(kb, matcher):
    line = (
        "2026/12/01 10:00:02 [error] 12#12: *5 upstream prematurely closed connection while reading response"
        ' header from upstream, client: 10.0.0.1, server: shop.example.com, request: "GET /index.php HTTP/1.1",'
        ' upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop.example.com"'
    )
    d = _diagnose(kb, matcher, line)
    assert not [c for c in d.commands if c.command.startswith("curl")]
