"""The request router as pure functions: servers, locations, fallbacks, inherited values, doubts.

`tests/integration/test_routing_real_nginx.py` holds the router to a real nginx; these
cases cover what that config cannot show cheaply (includes, the log's ``server:``,
inheritance of values, what makes an answer uncertain).
"""

from __future__ import annotations

from bot.evidence import parse_dump
from bot.evidence.nginx_config.routing import (
    Request,
    build_tree,
    effective,
    follow_to_backend,
    request_from_facts,
    route,
)
from bot.evidence.nginx_config.routing.locations import normalize_uri
from bot.evidence.nginx_config.routing.servers import host_port, normalize_host

DUMP = """nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
nginx: configuration file /etc/nginx/nginx.conf test is successful
# configuration file /etc/nginx/nginx.conf:
user www-data;
events {
\tworker_connections 768;
}
http {
\tclient_max_body_size 10m;
\tproxy_read_timeout 30s;
\tproxy_set_header X-A a;
\tproxy_set_header X-B b;
\tinclude /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/app:
server {
\tlisten 80;
\tserver_name app.example.org;
\tclient_max_body_size 2000M;
\tlocation / {
\t\ttry_files $uri $uri/ /index.php?$query_string;
\t}
\tlocation /upload/ {
\t\tproxy_pass http://127.0.0.1:9000;
\t\tproxy_set_header X-C c;
\t}
\tlocation /report/ {
\t\tproxy_pass http://127.0.0.1:9000;
\t\tproxy_read_timeout 300s;
\t\tif ($arg_debug) {
\t\t\treturn 418;
\t\t}
\t}
\tinclude /etc/nginx/snippets/php.conf;
}
server {
\tlisten 80 default_server;
\tserver_name _;
\treturn 444;
}
server {
\tlisten 8080;
\tserver_name app.example.org;
\tlocation / {
\t\tproxy_pass http://127.0.0.1:9001;
\t}
}

# configuration file /etc/nginx/snippets/php.conf:
location ~ \\.php$ {
\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;
\tfastcgi_read_timeout 120s;
}

"""


def _config():
    return parse_dump(DUMP)


def test_uri_is_normalised_like_nginx():
    assert normalize_uri("/a//b/./c/../d?x=/y") == "/a/b/d"
    assert normalize_uri("/%61pi/") == "/api/"
    assert normalize_uri("/../../etc") == "/etc"
    assert normalize_uri("http://h/x/y") == "/x/y"


def test_host_is_normalised_like_nginx():
    assert normalize_host("App.Example.ORG.:8080") == "app.example.org"
    assert host_port("app.example.org:8080") == 8080
    assert host_port("[::1]:81") == 81
    assert host_port("app.example.org") is None
    assert host_port("x:99999") is None


def test_the_logs_server_name_and_host_pick_the_server():
    config = _config()
    r = route(config, request_from_facts({"server": "app.example.org", "request": "GET /upload/x HTTP/1.1"}))
    assert r.context == "http > server(app.example.org) > location /upload/"
    assert r.server_reason == "server-name"
    assert "port-unknown" in r.uncertain  # the name is on :80 and :8080; the first is taken


def test_same_name_on_two_ports_needs_the_port_or_the_host_port():
    config = _config()
    on_8080 = route(config, Request(uri="/", host="app.example.org:8080", server_name="app.example.org"))
    assert on_8080.passes[0].args == ("http://127.0.0.1:9001",)
    on_80 = route(config, Request(uri="/upload/", host="app.example.org", port=80, server_name="app.example.org"))
    assert on_80.location is not None and on_80.location.label == "location /upload/"


def test_unknown_host_goes_to_the_default_server():
    r = route(_config(), Request(uri="/", host="other.example", port=80))
    assert r.server_reason == "default" and r.context == "http > server(_)"


def test_location_from_an_included_snippet_is_inside_its_server():
    r = route(_config(), Request(uri="/index.php", host="app.example.org", port=80))
    assert r.location is not None and r.location.directive is not None
    assert r.location.directive.file == "/etc/nginx/snippets/php.conf"
    assert r.context == "http > server(app.example.org) > location ~ \\.php$"
    assert r.upstream_module == "fastcgi"


def test_try_files_fallback_leads_to_the_php_location():
    config = _config()
    first = route(config, request_from_facts({"host": "app.example.org", "request": "GET /shop/cart HTTP/2.0"}))
    assert first.context.endswith("location /")
    handled = follow_to_backend(config, first, "fastcgi://unix:/run/php/php8.2-fpm.sock:")
    assert handled.upstream_module == "fastcgi"
    assert handled.hops == ("try_files /index.php?$query_string",)
    # a proxy line is not moved to the FastCGI location
    assert follow_to_backend(config, first, "http://127.0.0.1:9000/") is first


def test_effective_values_inherit_and_override():
    config = _config()
    tree = build_tree(config)
    upload = route(config, Request(uri="/upload/a", host="app.example.org", port=80), tree)
    report = route(config, Request(uri="/report/a", host="app.example.org", port=80), tree)
    (body,) = effective(upload, "client_max_body_size")
    assert (body.args, body.line) == (("2000M",), 4)  # the server's, not http's 10m
    assert effective(upload, "proxy_read_timeout")[0].args == ("30s",)  # from http
    assert effective(report, "proxy_read_timeout")[0].args == ("300s",)
    assert effective(upload, "fastcgi_read_timeout") == []  # unset: nginx's default


def test_array_directives_replace_the_inherited_list():
    config = _config()
    upload = route(config, Request(uri="/upload/a", host="app.example.org", port=80))
    report = route(config, Request(uri="/report/a", host="app.example.org", port=80))
    assert [d.args for d in effective(upload, "proxy_set_header")] == [("X-C", "c")]
    assert [d.args for d in effective(report, "proxy_set_header")] == [("X-A", "a"), ("X-B", "b")]


def test_if_blocks_and_variables_make_the_answer_uncertain():
    report = route(_config(), Request(uri="/report/a", host="app.example.org", port=80))
    assert "if-block" in report.uncertain
    dump = "http {\n server {\n  listen 80;\n  server_name $hostname;\n  location / { return 200; }\n }\n}\n"
    r = route(parse_dump(dump), Request(uri="/", host="box1", port=80))
    assert "variable-server-name" in r.uncertain


def test_a_request_line_without_a_match_still_routes_to_the_default():
    r = route(_config(), request_from_facts({"request": "garbage"}))
    assert r.uri == "/" and r.server is not None


def test_no_http_block_says_so():
    r = route(parse_dump("events { worker_connections 10; }\nworker_processes 1;\nuser nginx;\n"), Request())
    assert r.server is None and r.uncertain == ("no-http-block",)
