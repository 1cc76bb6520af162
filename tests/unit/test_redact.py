"""Secrets in pastes never survive redaction; everything else (and the line count) does."""

from __future__ import annotations

import re
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.evidence import parse_dump
from bot.evidence.redact import REDACTED, is_secret_key, redact

DUMPS = Path(__file__).resolve().parents[1] / "data" / "nginx-T"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('proxy_set_header Authorization "Bearer abc.def";', 'proxy_set_header Authorization "Bearer <redacted>";'),
        (
            "proxy_set_header Proxy-Authorization 'Basic dXNlcjpwYXNz';",
            "proxy_set_header Proxy-Authorization 'Basic <redacted>';",
        ),
        ("proxy_set_header Authorization c2VjcmV0;", "proxy_set_header Authorization <redacted>;"),
        ("> Authorization: Basic dXNlcjpwYXNz", "> Authorization: Basic <redacted>"),
        (
            "curl -H 'Authorization: Bearer sk_live_123' https://x",
            "curl -H 'Authorization: Bearer <redacted>' https://x",
        ),
        ('{"Authorization": "Bearer abcdefgh"}', '{"Authorization": "Bearer <redacted>"}'),
        ("proxy_set_header X-Api-Key 12345abc;", "proxy_set_header X-Api-Key <redacted>;"),
        ('add_header X-Auth-Token "tok123";', 'add_header X-Auth-Token "<redacted>";'),
        ("DB_PASSWORD=hunter2", "DB_PASSWORD=<redacted>"),
        ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "export AWS_SECRET_ACCESS_KEY=<redacted>"),
        ("aws_secret_access_key = wJalrXUtnFEMI", "aws_secret_access_key = <redacted>"),
        ('password: "s3cr3t"', 'password: "<redacted>"'),
        ("passwd: s3cr3t", "passwd: <redacted>"),
        ('{"client_secret": "abc", "name": "x"}', '{"client_secret": "<redacted>", "name": "x"}'),
        ("api_key=abc apikey=def token=ghi", "api_key=<redacted> apikey=<redacted> token=<redacted>"),
        ("access_key: AKSECRET", "access_key: <redacted>"),
        ("set $api_token abcdef123;", "set $api_token <redacted>;"),
        ('set $db_password "p@ss word";', 'set $db_password "<redacted>";'),
        ("env REDIS_PASS=foo;", "env REDIS_PASS=<redacted>;"),
        ("secure_link_secret mysecret;", "secure_link_secret <redacted>;"),
        ("bot xoxb-123456789012-abcdefghijkl", "bot xoxb-<redacted>"),
        ("xoxp-1234-5678-abcdef", "xoxp-<redacted>"),
        ("xapp-1-A0123-456789-abcdef", "xapp-<redacted>"),
        ("xoxe.xoxp-1-abcdefghijkl", "xoxe.xoxp-<redacted>"),
        ("xoxe-1-abcdefghijkl", "xoxe-<redacted>"),
        ("ghp_" + "a" * 36, "ghp_<redacted>"),
        ("github_pat_11ABCDEFG0_" + "b" * 40, "github_pat_<redacted>"),
        ("key id AKIAIOSFODNN7EXAMPLE here", "key id AKIA<redacted> here"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "<redacted>"),
        ("proxy_pass http://admin:pa55w0rd@10.0.0.1:8080/;", "proxy_pass http://admin:<redacted>@10.0.0.1:8080/;"),
        ("redis://:hunter2@cache:6379/0", "redis://:<redacted>@cache:6379/0"),
        (
            'request: "GET /cb?code=abc&token=zzz&page=2&sig=abcd HTTP/1.1"',
            'request: "GET /cb?code=<redacted>&token=<redacted>&page=2&sig=<redacted> HTTP/1.1"',
        ),
        (
            "GET /x?access_token=a1&signature=s2&key=k3&password=p4 HTTP/1.1",
            "GET /x?access_token=<redacted>&signature=<redacted>&key=<redacted>&password=<redacted> HTTP/1.1",
        ),
    ],
)
def test_each_kind(text: str, expected: str) -> None:
    out, masked = redact(text)
    assert out == expected
    assert masked == expected.count(REDACTED)


def test_pem_private_key_block_keeps_its_lines() -> None:
    text = (
        "ssl_certificate_key /etc/ssl/k.pem;\n-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret1\nAAAAsecret2\n"
        "-----END RSA PRIVATE KEY-----\nworker_connections 1024;\n"
    )
    out, masked = redact(text)
    assert masked == 1
    assert "secret1" not in out and "secret2" not in out
    assert out.count("\n") == text.count("\n")
    assert out.splitlines()[0] == "ssl_certificate_key /etc/ssl/k.pem;"
    assert out.splitlines()[-1] == "worker_connections 1024;"


def test_pem_block_without_end_is_masked_to_the_end() -> None:
    out, masked = redact("-----BEGIN PRIVATE KEY-----\nMIIEsecret\nmore")
    assert masked == 1 and "MIIEsecret" not in out and "more" not in out


@pytest.mark.parametrize(
    "text",
    [
        "proxy_set_header Authorization $http_authorization;",
        'proxy_set_header Authorization "Bearer $jwt";',
        "fastcgi_param HTTP_AUTHORIZATION $http_authorization;",
        "proxy_pass http://app;",
        "proxy_pass http://127.0.0.1:8080/;",
        "proxy_cache_key $scheme$host$request_uri;",
        "ssl_certificate_key /etc/ssl/private/site.key;",
        "ssl_password_file /etc/nginx/ssl.pass;",
        "server_tokens off;",
        "auth_basic_user_file /etc/nginx/.htpasswd;",
        "limit_req zone=perip burst=10 nodelay;",
        "proxy_cache_path /var/cache keys_zone=one:10m;",
        "log_format main 'token=$arg_token';",
        "2026/11/26 00:46:54 [alert] 12520#12520: 16 worker_connections are not enough",
        "2024/01/01 00:00:00 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, "
        'client: 10.0.0.1, server: shop.example.com, request: "GET /?page=2 HTTP/1.1", '
        'upstream: "http://127.0.0.1:8080/?page=2", host: "shop.example.com"',
        "Max open files            20000                20000                files",
        "# configuration file /etc/nginx/secrets.conf:",
    ],
)
def test_non_secrets_are_untouched(text: str) -> None:
    assert redact(text) == (text, 0)


def test_redacting_twice_changes_nothing() -> None:
    text = 'proxy_set_header Authorization "Bearer abc";\npassword=x\nhttp://u:p@h/\nxoxb-123456789-abc'
    once, masked = redact(text)
    assert masked == 4
    assert redact(once) == (once, 0)


def test_secret_key_names() -> None:
    for key in ("DB_PASSWORD", "clientSecret", "X-Api-Key", "auth_token", "aws_secret_access_key", "redis_pass"):
        assert is_secret_key(key), key
    for key in ("proxy_pass", "proxy_cache_key", "server_tokens", "ssl_certificate_key", "keys_zone", "passenger"):
        assert not is_secret_key(key), key


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 200_000,
        "eyJ" * 70_000,
        "password=" * 25_000,
        "Authorization: " * 15_000,
        "http://" + "u" * 200_000,
        "?token=" * 30_000,
        "-----BEGIN PRIVATE KEY-----" * 8_000,
    ],
)
def test_linear_time_on_hostile_input(hostile: str) -> None:
    start = time.perf_counter()
    redact(hostile)
    assert time.perf_counter() - start < 2.0


# --- properties -------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_secret_body = st.text(alphabet=_ALNUM, min_size=24, max_size=40).filter(lambda s: s[:3].lower() != "eyj")

_SAFE_LINES = [
    "worker_processes auto;",
    "events {",
    "    worker_connections 1024;",
    "}",
    "http {",
    "    proxy_pass http://app;",
    "    proxy_set_header Host $host;",
    "    proxy_set_header Authorization $http_authorization;",
    "    listen 80;",
    "    server_name shop.example.com;",
    "    keepalive 32;",
    "2026/11/26 00:46:54 [alert] 12520#12520: 16 worker_connections are not enough",
    "2024/01/01 00:00:00 [error] 7#7: *3 upstream timed out (110: Connection timed out), client: 10.0.0.1, "
    'server: x, request: "GET /a?page=3 HTTP/1.1", upstream: "http://10.0.0.2:80/a?page=3", host: "x"',
    "Max open files            1024                 524288               files",
    "$ nproc",
    "8",
    "",
]


def _embed(kind: str, body: str) -> tuple[str, str]:
    """(a line holding a secret of this kind, the secret that must not survive)."""
    lower = body.lower()
    return {
        "header": (f'    proxy_set_header Authorization "Bearer {body}";', body),
        "header-line": (f"> Authorization: Basic {body}", body),
        "kv": (f"DB_PASSWORD={body}", body),
        "yaml": (f"client_secret: {body}", body),
        "json": (f'{{"api_key": "{body}"}}', body),
        "set": (f"    set $auth_token {body};", body),
        "slack": (f"SLACK_BOT_TOKEN xoxb-{body}", body),
        "xapp": (f"app xapp-1-{body}", body),
        "github": (f"ghp_{body}", body),
        "aws": (f"AKIA{body[:16].upper()}", body[:16].upper()),
        "jwt": (f"eyJ{body}.eyJ{body[::-1]}.{lower}", body),
        "url": (f"proxy_pass http://admin:{body}@10.0.0.1/;", body),
        "query": (f'request: "GET /cb?token={body}&sig={lower} HTTP/1.1"', body),
        "pem": (f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----", body),
    }[kind]


_KINDS = [
    "header",
    "header-line",
    "kv",
    "yaml",
    "json",
    "set",
    "slack",
    "xapp",
    "github",
    "aws",
    "jwt",
    "url",
    "query",
    "pem",
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    lines=st.lists(st.sampled_from(_SAFE_LINES), max_size=12),
    secrets=st.lists(st.tuples(st.sampled_from(_KINDS), _secret_body, st.integers(0, 12)), min_size=1, max_size=5),
)
def test_embedded_secrets_never_survive(lines: list[str], secrets: list[tuple[str, str, int]]) -> None:
    doc = list(lines)
    hidden = []
    for kind, body, pos in secrets:
        line, secret = _embed(kind, body)
        doc.insert(min(pos, len(doc)), line)
        hidden.append(secret)
    text = "\n".join(doc)
    out, masked = redact(text)
    for secret in hidden:
        assert secret not in out
    assert masked >= 1
    assert out.count("\n") == text.count("\n")
    safe_in = [ln for ln in text.split("\n") if ln in _SAFE_LINES]
    safe_out = [ln for ln in out.split("\n") if ln in _SAFE_LINES]
    assert safe_out == safe_in


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_SAFE_LINES), max_size=30))
def test_text_without_secrets_is_unchanged(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert redact(text) == (text, 0)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_keeps_its_line_count(text: str) -> None:
    out, _ = redact(text)
    assert out.count("\n") == text.count("\n")
    assert redact(out)[1] == 0


# --- nginx -T fixtures ------------------------------------------------------------------


def _shape(text: str) -> list[tuple[str, str, int, tuple[str, ...], int]]:
    config = parse_dump(text)
    return [(d.name, d.file, d.line, d.context, len(d.args)) for d in config.directives]


# binary-junk.txt is damage on purpose, not a dump whose directives could be compared.
TEXT_DUMPS = sorted(p for p in DUMPS.glob("*.txt") if p.stem != "binary-junk")


@pytest.mark.parametrize("path", TEXT_DUMPS, ids=lambda p: p.stem)
def test_fixture_dumps_parse_to_the_same_directives(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    out, _ = redact(text)
    assert out.count("\n") == text.count("\n")
    assert _shape(out) == _shape(text)


_SECRET_CONFIG = """\
# configuration file /etc/nginx/nginx.conf:
user www-data;
worker_processes 2;
env API_TOKEN=tok_live_abcdef123456;
events {
    worker_connections 512;
}
http {
    upstream app { server 10.0.0.2:8080; }
    server {
        listen 80;
        set $backend_password "hunter2-xyz";
        location / {
            proxy_pass http://svc:p4ssw0rd-123@app;
            proxy_set_header Authorization "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
            proxy_set_header X-Api-Key 0123456789abcdef;
            secure_link_secret linksecret987;
        }
    }
}
"""


def test_secret_laden_dump_keeps_its_directives_and_lines() -> None:
    out, masked = redact(_SECRET_CONFIG)
    assert masked == 6
    for secret in (
        "tok_live_abcdef123456",
        "hunter2-xyz",
        "p4ssw0rd-123",
        "eyJhbGciOiJIUzI1NiJ9",
        "0123456789abcdef",
        "linksecret987",
    ):
        assert secret not in out
    before, after = parse_dump(_SECRET_CONFIG), parse_dump(out)
    assert not after.errors
    assert [(d.name, d.line, d.context) for d in after.directives] == [
        (d.name, d.line, d.context) for d in before.directives
    ]
    changed = [d for d, e in zip(before.directives, after.directives, strict=True) if d.args != e.args]
    assert len(changed) == 6
    assert all(re.search(REDACTED, " ".join(e.args)) for e in after.directives if e.line in {d.line for d in changed})
    assert after.worker_connections is not None and after.worker_connections.args == ("512",)
