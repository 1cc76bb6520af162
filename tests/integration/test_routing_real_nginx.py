"""The request router agrees with a real nginx, not with our reading of the docs.

A real nginx runs a configuration whose servers and locations answer with their own names:
``X-Srv`` is nginx's ``$server_name`` (the handling server's first name) and the body (or
``X-Loc`` where the location proxies) is the line number of the location's own ``return``
or ``add_header``, so it names the location without a hand-written answer key. Requests go to 127.0.0.1 and
127.0.0.2 with many Host headers and raw URIs; for each one the router, given only what
nginx -T printed and what the request was, must name the same server and location.
"""

from __future__ import annotations

import http.client
import os
import time

import pytest

from bot.evidence import parse_dump, parse_line
from bot.evidence.nginx_config.routing import (
    Block,
    Request,
    build_tree,
    fallbacks,
    follow_to_backend,
    request_from_facts,
    route,
)
from bot.evidence.nginx_config.routing.servers import primary_name
from tests.integration.nginx_harness import NGINX, free_port, running_nginx

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if NGINX is None:
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx (apt-get install nginx)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx")

ROUTING_CONF = """worker_processes 1;
error_log {prefix}/logs/error.log error;
pid {prefix}/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    add_header X-Srv "$server_name" always;
    include {prefix}/conf/servers/*.conf;
}
"""

MAIN_SERVER = """server {
    listen 127.0.0.1:PORT_A;
    server_name example.com www.example.com;
    location = /exact { return 200 "LINE"; }
    location / { return 200 "LINE"; }
    location /static/ { return 200 "LINE"; }
    location ^~ /images/ { return 200 "LINE"; }
    location ~* \\.(png|jpg)$ { return 200 "LINE"; }
    location ~ ^/api/v[0-9]+/ { return 200 "LINE"; }
    location /api/ {
        proxy_pass http://127.0.0.1:PORT_B/;
        add_header X-Srv "$server_name" always;
        add_header X-Loc "LINE" always;
    }
    location /app/ {
        location /app/admin/ { return 200 "LINE"; }
        location ~ \\.php$ { return 200 "LINE"; }
        return 200 "LINE";
    }
    location /try/ { try_files /nonexistent @fallback; }
    location @fallback { return 200 "LINE"; }
    location /php-front/ { try_files /nonexistent /index.php?$args; }
    location ~ \\.php$ {
        fastcgi_pass unix:{prefix}/no-such-php.sock;
        add_header X-Srv "$server_name" always;
        add_header X-Loc "LINE" always;
    }
}
"""

OTHER_SERVERS = """server {
    listen 127.0.0.1:PORT_A;
    server_name *.example.com;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_A;
    server_name www.example.*;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_A;
    server_name ~^(?<sub>[a-z]+)\\.regex\\.test$;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_A;
    server_name ~^api\\.regex\\.test$;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_A default_server;
    server_name _;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_A;
    server_name .dot.test;
    location /only/ { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_B;
    server_name b.test;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.1:PORT_B;
    server_name second.test;
    location / { return 200 "LINE"; }
}
server {
    listen PORT_C;
    server_name wild.test;
    location / { return 200 "LINE"; }
}
server {
    listen 127.0.0.2:PORT_C;
    server_name specific.test;
    location / { return 200 "LINE"; }
}
"""

# (address, port key, Host header, raw URI)
CASES = [
    ("127.0.0.1", "A", "example.com", "/exact"),
    ("127.0.0.1", "A", "example.com", "/exact/more"),
    ("127.0.0.1", "A", "example.com", "/"),
    ("127.0.0.1", "A", "example.com", "/static/x"),
    ("127.0.0.1", "A", "example.com", "/images/a.png"),
    ("127.0.0.1", "A", "example.com", "/static/a.png"),
    ("127.0.0.1", "A", "example.com", "/IMAGES/A.PNG"),
    ("127.0.0.1", "A", "example.com", "/api/v1/users"),
    ("127.0.0.1", "A", "example.com", "/api/users"),
    ("127.0.0.1", "A", "example.com", "/api"),
    ("127.0.0.1", "A", "example.com", "/app/admin/x"),
    ("127.0.0.1", "A", "example.com", "/app/x.php"),
    ("127.0.0.1", "A", "example.com", "/app/img.png"),
    ("127.0.0.1", "A", "example.com", "/app/"),
    ("127.0.0.1", "A", "example.com", "/x.php"),
    ("127.0.0.1", "A", "example.com", "/static/../exact"),
    ("127.0.0.1", "A", "example.com", "//static/x"),
    ("127.0.0.1", "A", "example.com", "/%73tatic/x"),
    ("127.0.0.1", "A", "example.com", "/static/x?q=/exact"),
    ("127.0.0.1", "A", "example.com", "/try/x"),
    ("127.0.0.1", "A", "www.example.com", "/"),
    ("127.0.0.1", "A", "a.example.com", "/"),
    ("127.0.0.1", "A", "a.b.example.com", "/static/x"),
    ("127.0.0.1", "A", "www.example.org", "/"),
    ("127.0.0.1", "A", "EXAMPLE.COM", "/"),
    ("127.0.0.1", "A", "example.com.", "/"),
    ("127.0.0.1", "A", "foo.regex.test", "/"),
    ("127.0.0.1", "A", "api.regex.test", "/"),
    ("127.0.0.1", "A", "unknown.test", "/"),
    ("127.0.0.1", "A", "dot.test", "/only/x"),
    ("127.0.0.1", "A", "x.dot.test", "/other"),
    ("127.0.0.1", "A", "example.com:PORT_A", "/static/x"),
    ("127.0.0.1", "B", "b.test", "/"),
    ("127.0.0.1", "B", "second.test", "/"),
    ("127.0.0.1", "B", "nothing.test", "/"),
    ("127.0.0.2", "C", "wild.test", "/"),
    ("127.0.0.1", "C", "specific.test", "/"),
    ("127.0.0.1", "C", "wild.test", "/"),
]


def _numbered(text: str) -> str:
    """Each ``LINE`` becomes the number of the line it is on (the location that answers)."""
    return "\n".join(line.replace("LINE", str(n)) for n, line in enumerate(text.split("\n"), 1))


def _answer_line(loc: Block | None) -> str:
    """The line number the location answers with: that of its own ``return`` or ``X-Loc``."""
    if loc is None:
        return ""
    for d in loc.statements:
        if d.name == "return" or (d.name == "add_header" and d.args[:1] == ("X-Loc",)):
            return str(d.line)
    return ""


def _get(address: str, port: int, host: str, uri: str) -> tuple[int, str, str, str]:
    """(status, X-Srv, the answering line, Location header) for one raw request."""
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.putrequest("GET", uri, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        loc = resp.getheader("X-Loc") or (body if resp.status == 200 and body.isdigit() else "")
        # a proxied answer carries the backend's X-Srv too; nginx adds its own last
        srv = (resp.getheader("X-Srv") or "").split(", ")[-1]
        return resp.status, srv, loc, resp.getheader("Location") or ""
    finally:
        conn.close()


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routing")
    ports = {"A": free_port(), "B": free_port(), "C": free_port()}

    def fill(text: str) -> str:
        for key, port in ports.items():
            text = text.replace(f"PORT_{key}", str(port))
        return text

    servers = tmp / "nginx" / "conf" / "servers"
    servers.mkdir(parents=True)
    prefix = tmp / "nginx"
    (servers / "10-main.conf").write_text(_numbered(fill(MAIN_SERVER).replace("{prefix}", str(prefix))))
    (servers / "20-others.conf").write_text(_numbered(fill(OTHER_SERVERS)))
    with running_nginx(tmp, ROUTING_CONF) as ngx:
        dump = ngx.dump_T()
        yield ngx, ports, parse_dump(dump)


def test_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(("address", "port_key", "host", "uri"), CASES)
def test_router_agrees_with_nginx(routed, address, port_key, host, uri):
    _ngx, ports, config = routed
    port = ports[port_key]
    host = host.replace("PORT_A", str(ports["A"]))
    status, srv, loc, location_header = _get(address, port, host, uri)
    got = route(config, Request(uri=uri, host=host, port=port, address=address))
    assert got.server is not None, (status, srv, loc)
    assert primary_name(got.server) == srv, f"nginx chose server {srv!r}, the router {got.context!r}"
    if got.location_reason == "redirect":
        assert status == 301 and location_header.endswith(uri + "/"), (status, location_header)
        return
    if got.location is not None and got.location.label == "location /try/":
        named = fallbacks(got.server, got.location, got.uri)[0][1]
        assert named is not None and _answer_line(named) == loc, (loc, got.context)
        return
    if not loc:
        assert status in (403, 404) and got.location is None, (status, got.context)
    assert loc == _answer_line(got.location), f"nginx answered from line {loc!r}, the router chose {got.context!r}"


def test_fallbacks_reach_the_backend_location_nginx_used(routed):
    """A PHP request behind ``try_files ... /index.php``: the real 502 line names the first URI,
    the router follows the fallback to the location that passed it to FastCGI."""
    ngx, ports, config = routed
    offset = ngx.error_log.stat().st_size
    status, _srv, loc, _ = _get("127.0.0.1", ports["A"], "example.com", "/php-front/page")
    assert status == 502
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline and not lines:
        lines = [ln for ln in ngx.log_lines_since(offset) if "no-such-php.sock" in ln]
        time.sleep(0.05)
    assert lines, "nginx logged no connect() failure"
    facts = parse_line(lines[-1]).facts()
    first = route(config, request_from_facts(facts))
    assert first.location is not None and first.location.label == "location /php-front/"
    handled = follow_to_backend(config, first, facts["upstream"])
    assert handled.location is not None and handled.location.label == "location ~ \\.php$"
    assert _answer_line(handled.location) == loc
    assert handled.hops == ("try_files /index.php?$args",)
    assert handled.upstream_module == "fastcgi"


def test_named_location_is_reached_by_try_files(routed):
    _ngx, ports, config = routed
    status, _srv, loc, _ = _get("127.0.0.1", ports["A"], "example.com", "/try/x")
    assert status == 200
    tree = build_tree(config)
    first = route(config, Request(uri="/try/x", host="example.com", port=ports["A"]), tree)
    assert first.server is not None and first.location is not None
    hops = fallbacks(first.server, first.location, first.uri)
    assert hops[0][0] == "try_files @fallback" and hops[0][1] is not None
    assert hops[0][1].label == "location @fallback" and _answer_line(hops[0][1]) == loc
