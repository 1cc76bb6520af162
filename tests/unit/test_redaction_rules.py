"""Each redaction rule on its own: what it masks, what it must leave alone, and that it stays
linear on hostile 64 KB inputs. The corpus test runs them all together on a real paste."""

from __future__ import annotations

import re
import time

import pytest

from bot.evidence.redaction import REDACTED, redact_intake
from bot.evidence.redaction.entropy import looks_random
from bot.evidence.redaction.names import is_secret_env_name, is_secret_header, is_secret_query, is_secret_variable
from bot.evidence.redaction.nginx_lexer import statements

R = REDACTED


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        # headers by name, in directives
        ('proxy_set_header Cookie "a=1; b=2";', f'proxy_set_header Cookie "a={R}; b={R}";', ["header:Cookie"] * 2),
        (
            'add_header Set-Cookie "sid=abc; Path=/; HttpOnly";',
            f'add_header Set-Cookie "sid={R}; Path=/; HttpOnly";',
            ["header:Set-Cookie"],
        ),
        ("proxy_set_header X-Auth-Key k3y;", f"proxy_set_header X-Auth-Key {R};", ["header:X-Auth-Key"]),
        ("grpc_set_header X-Some-Secret 'v';", f"grpc_set_header X-Some-Secret '{R}';", ["header:X-Some-Secret"]),
        ('proxy_set_header Authorization "Bearer $jwt";', None, []),
        ('more_set_headers "X-Api-Token: t0k";', f'more_set_headers "X-Api-Token: {R}";', ["header:X-Api-Token"]),
        ('more_set_headers -s 404 "X-Auth-User: al";', f'more_set_headers -s 404 "X-Auth-User: {R}";', None),
        ("fastcgi_param HTTP_X_API_KEY abc;", f"fastcgi_param HTTP_X_API_KEY {R};", ["header:HTTP_X_API_KEY"]),
        ("fastcgi_param REDIS_PASSWORD abc;", f"fastcgi_param REDIS_PASSWORD {R};", ["env:REDIS_PASSWORD"]),
        # env values: single tokens with no separate secret word
        ("env STRIPE_KEY=sk_live_abc123def456;", f"env STRIPE_KEY={R};", ["env:STRIPE_KEY"]),
        ("env PGPASSWORD=x;", f"env PGPASSWORD={R};", ["env:PGPASSWORD"]),
        ("env DBPASS=x;", f"env DBPASS={R};", ["env:DBPASS"]),
        ("env REDISCLI_AUTH=x;", f"env REDISCLI_AUTH={R};", ["env:REDISCLI_AUTH"]),
        ("env NEW_RELIC_LICENSE_KEY=x;", f"env NEW_RELIC_LICENSE_KEY={R};", ["env:NEW_RELIC_LICENSE_KEY"]),
        ("env TZ=UTC;", None, []),
        ("env PATH;", None, []),
        # set / js_var / perl_set
        ('set $hmac "h";', f'set $hmac "{R}";', ["variable:$hmac"]),
        ('set $upstream_basic "dXNlcjpw";', f'set $upstream_basic "{R}";', ["variable:$upstream_basic"]),
        ('set $x "Basic dXNlcjpwYXNz";', f'set $x "{R}";', None),
        ("set $auth_ok 1;", None, []),
        ("set $session_timeout 30m;", None, []),
        ('js_var $api_key "k";', f'js_var $api_key "{R}";', ["variable:$api_key"]),
        ("perl_set $t 'sub { return \"s3\"; }';", f"perl_set $t 'sub {{ return \"{R}\"; }}';", ["code:perl_set"]),
        ("perl_set $t Module::handler;", None, []),
        # map and if on request headers
        (
            'map $http_x_api_key $client { default ""; "k1" a; ~^k2 b; }',
            f'map $http_x_api_key $client {{ default ""; "{R}" a; ~{R} b; }}',
            ["map_key:$http_x_api_key"] * 2,
        ),
        ("map $http_user_agent $bot { ~*curl 1; }", None, []),
        ('map $host $api_token { default "t"; }', f'map $host $api_token {{ default "{R}"; }}', None),
        (
            'if ($http_x_api_key != "abc") { return 403; }',
            f'if ($http_x_api_key != "{R}") {{ return 403; }}',
            ["condition:$http_x_api_key"],
        ),
        ("if ($arg_token = abc) { return 403; }", f"if ($arg_token = {R}) {{ return 403; }}", None),
        ("if ($http_user_agent ~* bot) { return 403; }", None, []),
        # directives whose value is a secret
        (
            'secure_link_md5 "$secure_link_expires$uri s3cr3t";',
            f'secure_link_md5 "$secure_link_expires$uri {R}";',
            ["directive:secure_link_md5"],
        ),
        ('auth_jwt_key "0011aabb" hex;', f'auth_jwt_key "{R}" hex;', ["directive:auth_jwt_key"]),
        ("auth_jwt_key_file /etc/nginx/keys.jwk;", None, []),
        ("auth_jwt_key_request /_jwks;", None, []),
        ('auth_jwt "closed site" token=$cookie_auth;', None, []),
        ("redis2_query auth s3cr3t;", f"redis2_query auth {R};", None),
        ("ssl_password_file /etc/nginx/ssl.pass;", None, []),
        ("proxy_pass_header X-Accel-Redirect;", None, []),
        ("proxy_cache_key $scheme$host$request_uri;", None, []),
        # userinfo up to the last @, query parameters, pins
        ("proxy_pass http://u:p@ss@10.0.0.1/;", f"proxy_pass http://u:{R}@10.0.0.1/;", ["url_userinfo:password"]),
        ("git clone https://ghp_abcdefghijklmnopqrst1234@github.com/x", f"git clone https://{R}@github.com/x", None),
        ("ssh://git@github.com/x", None, []),
        ('"GET /a?session=s1&page=2 HTTP/1.1"', f'"GET /a?session={R}&page=2 HTTP/1.1"', ["query:session"]),
        ("GET /a?sig=x&sort=desc&signature=y", f"GET /a?sig={R}&sort=desc&signature={R}", None),
        ("GET /download;jsessionid=ABC", f"GET /download;jsessionid={R}", ["query:jsessionid"]),
        ("GET /a?author=alice&keyword=nginx", None, []),
        (
            '"engine:pkcs11:pkcs11:token=t;object=k;pin-value=1234"',
            f'"engine:pkcs11:pkcs11:token=t;object=k;pin-value={R}"',
            None,
        ),
        # Lua and njs calls
        ('red:auth("pw")', f'red:auth("{R}")', ["code:auth"]),
        ('ngx.hmac_sha1("k", ngx.var.uri)', f'ngx.hmac_sha1("{R}", ngx.var.uri)', ["code:hmac_sha1"]),
        ('ngx.req.set_header("X-Api-Key", "v")', f'ngx.req.set_header("X-Api-Key", "{R}")', ["code:set_header"]),
        ('ngx.req.set_header("X-Trace", "v")', None, []),
        ("crypto.createHmac('sha256', 'k')", f"crypto.createHmac('sha256', '{R}')", ["code:createHmac"]),
        ("r.headersOut['X-Auth-Token'] = 'v';", f"r.headersOut['X-Auth-Token'] = '{R}';", None),
        ('ngx.header["Content-Type"] = "text/plain"', None, []),
        # text forms
        ("Cookie: a=1; b=2", f"Cookie: a={R}; b={R}", ["header:Cookie"] * 2),
        ("> Authorization: Bearer abcdef", f"> Authorization: Bearer {R}", None),
        ("curl -H 'X-Api-Key: v1' https://x", f"curl -H 'X-Api-Key: {R}' https://x", None),
        ("DB_PASSWORD=hunter2 NODE_ENV=production", f"DB_PASSWORD={R} NODE_ENV=production", ["env:DB_PASSWORD"]),
        ('{"client_secret": "abc", "name": "x"}', f'{{"client_secret": "{R}", "name": "x"}}', None),
        ("admin:$apr1$salt$hashhashhash", f"admin:{R}", ["htpasswd"]),
        ("bob:{SHA}abcdefghijkl=", f"bob:{R}", ["htpasswd"]),
        ('{"kty":"oct","k":"secretkey"}', f'{{"kty":"oct","k":"{R}"}}', ["jwk"]),
        ('{"kty":"RSA","e":"AQAB","n":"short"}', None, []),
        ("token xoxb-1234567890-abcdefghij", f"token xoxb-{R}", ["token:slack"]),
        ("k sk_live_abcdef0123456789", f"k sk_live_{R}", ["token:stripe"]),
        ("id mk78ZqA9sK2pL7qW3eR8tY1uI6oP0", f"id {R}", ["high_entropy"]),
        # prose and ordinary config that only look close
        ("htpasswd: cannot modify file /etc/nginx/.htpasswd", None, []),
        ("(/etc/nginx/njs/jwt.js:7)", None, []),
        ("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256;", None, []),
        ("It is passphrase-protected: add the file", None, []),
        ("src/http/v2/ngx_http_v2.c:348", None, []),
        ("Basic authentication is enabled", None, []),
        ("local sig = ngx.hmac_sha1(key, data)", None, []),
        ("-----BEGIN ENCRYPTED PRIVATE KEY----- or Proc-Type: 4,ENCRYPTED means", None, []),
    ],
)
def test_each_form(text: str, expected: str | None, kinds: list[str] | None) -> None:
    result = redact_intake(text)
    assert result.text == (text if expected is None else expected)
    if kinds is not None:
        assert list(result.keys) == kinds
    assert redact_intake(result.text).count == 0  # twice is once


def test_a_secret_value_never_swallows_a_line_end() -> None:
    text = 'add_header X-Api-Key "line1\nline2";\nworker_connections 512;\n'
    out = redact_intake(text).text
    assert out == f'add_header X-Api-Key "{R}\n{R}";\nworker_connections 512;\n'


def test_key_files_named_by_the_config_are_masked_whole_wherever_shown() -> None:
    text = (
        "ssl_password_file /etc/keys/site.phrases;\n$ sudo cat /etc/keys/site.phrases\nfirst-phrase\nsecond-phrase\n"
        "$ nproc\n8\n"
    )
    out = redact_intake(text)
    assert out.text.splitlines()[2:4] == [R, R] and out.text.endswith("$ nproc\n8\n")
    assert out.keys == ("key_file:site.phrases",)


def test_a_paste_starting_mid_key_is_masked_up_to_its_end_line() -> None:
    text = "AbC1dEf2GhI3\nJkL4mNo5==\n-----END PRIVATE KEY-----\nworker_connections 512;\n"
    assert redact_intake(text).text == f"{R}\n{R}\n-----END PRIVATE KEY-----\nworker_connections 512;\n"


def test_certificates_are_public_and_stay() -> None:
    body = "MIIBszCCAVmgAwIBAgIUQ1xY2aZq9v0FZ8cUo8m3mQjY5a4wCgYIKoZIzj0EAwIw\n" * 3
    text = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
    assert redact_intake(text).text == text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("Set-Cookie", True),
        ("X-Api-Key", True),
        ("X-Auth-Request-User", True),
        ("X-Hub-Signature", True),
        ("Host", False),
        ("X-Forwarded-For", False),
        ("Content-Security-Policy", False),
        ("X-Request-Id", False),
    ],
)
def test_header_names(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("STRIPE_KEY", True),
        ("PGPASSWORD", True),
        ("DBPASS", True),
        ("REDISCLI_AUTH", True),
        ("NEW_RELIC_LICENSE_KEY", True),
        ("SENTRY_DSN", True),
        ("DB_PASSWORD_FILE", False),
        ("CACHE_BYPASS", False),
        ("PASSENGER_APP_ENV", False),
        ("TZ", False),
        ("SCRIPT_FILENAME", False),
    ],
)
def test_environment_names(name: str, secret: bool) -> None:
    assert is_secret_env_name(name) is secret


def test_query_and_variable_names() -> None:
    assert all(is_secret_query(n) for n in ("session", "PHPSESSID", "token", "key", "sig", "signature", "auth"))
    assert not any(is_secret_query(n) for n in ("page", "author", "keyword", "sort", "state", "token_type"))
    assert all(is_secret_variable(n) for n in ("$http_authorization", "$http_x_api_key", "$cookie_sid", "$arg_token"))
    assert not any(is_secret_variable(n) for n in ("$http_user_agent", "$host", "$arg_page", "$session_timeout"))


@pytest.mark.parametrize(
    "word",
    [
        "proxy_next_upstream_timeout",
        "NEW_RELIC_LICENSE_KEY",
        "ingress-nginx-controller-7d9c8b6f5d-x2k9p",
        "x86_64-linux-gnu-gcc-12",
        "550e8400-e29b-41d4-a716-446655440000",
        "src/http/v2/ngx_http_v2",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "MyAppSecretToken2024",
    ],
)
def test_words_ids_and_paths_are_not_tokens(word: str) -> None:
    assert not looks_random(word)


def test_tokens_are() -> None:
    assert looks_random("mk78ZqA9sK2pL7qW3eR8tY1uI6oP0")
    assert looks_random("7f3a9c2b1e4d5f60718293a4b5c6d7e8f9012345")  # 40 hex: an HMAC key


def test_the_lexer_reads_config_around_logs_and_lua() -> None:
    text = (
        '2024/01/01 00:00:00 [error] 1#1: *1 broken header: "\\x16\\x03 while reading PROXY protocol\n'
        "upstream timed out, client: 1.2.3.4, server: x\n"
        'content_by_lua_block { local s = "}" ngx.say("{") }\n'
        'set $a "b";\n'
    )
    names = [st.name(text) for st in statements(text)]
    assert names == ["content_by_lua_block", "set"]


HOSTILE = {
    "quotes": '"' * 65_536,
    "escaped quotes": '"\\' * 32_768,
    "open map": "map $http_x_api_key $x {\n" + "k v;\n" * 13_000,
    "headers": "proxy_set_header X-Api-Key " * 2_400,
    "settings": "password=" * 7_000,
    "query": "?token=" * 9_000,
    "userinfo": "http://" + "u:p@" * 16_000,
    "calls": "auth(" * 13_000,
    "kty": '"kty"{' * 10_000,
    "pem": "-----BEGIN PRIVATE KEY-----" * 2_400,
    "base64 lines": ("A1b2C3d4" * 8 + "\n") * 1_000,
    "random": "aZ3" * 21_000,
    "lua": "access_by_lua_block {" + "[[" * 30_000,
    "prompts": "$ cat x.pass\n" * 5_000,
    "headers lines": "X-Api-Key: v\n" * 5_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_linear_time_on_hostile_64_kb_inputs(name: str) -> None:
    """64 KB of each worst case redacts in well under a second on an idle machine (the bound
    leaves room for a busy one); four times the input takes about four times as long."""
    small = HOSTILE[name]
    big = small * 4

    def timed(text: str) -> float:
        """CPU seconds of this process (best of 3): other processes on a busy machine do not count."""
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            redact_intake(text)
            best = min(best, time.process_time() - start)
        return best

    t_small, t_big = timed(small), timed(big)
    assert t_small < 2.0, f"{name}: {t_small:.2f} s for {len(small)} characters"
    assert t_big < 8 * t_small + 0.25, f"{name}: {t_small:.3f} s -> {t_big:.3f} s for 4x the input (not linear)"


def test_secret_word_scan_folds_ascii_only_and_gives_character_offsets() -> None:
    """The scan lower-cases UTF-8 bytes: only ASCII letters fold (the Kelvin sign never reads as
    ``k``) and the offsets it gives are characters, also after multi-byte ones and surrogates."""
    from bot.evidence.redaction.text_rules import _secret_words

    assert list(_secret_words("X-Api-KEY: Abc")) == [(6, 9)]
    mixed = "\u212aEY=1 \u00e9\u0130\ud800D_TOKEN=2 \U0001f511 Secret"
    hits = list(_secret_words(mixed))
    assert [mixed[a:b] for a, b in hits] == ["TOKEN", "Secret"]


def test_secret_word_scan_agrees_with_an_ascii_lowered_copy() -> None:
    """The same hits as searching a copy with only ``A-Z`` lower-cased, on random mixed text."""
    import random

    from bot.evidence.redaction.text_rules import _SECRET_WORD, _secret_words

    table = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
    pattern = re.compile(_SECRET_WORD.pattern.decode())
    pieces = ["KEY", "key", "Tok", "EN", "\u212a", "ey", "\u0130", "\u00e9", "\ud800", "\U0001f511", " ", "=", "Pass"]
    rng = random.Random(11)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        expected = [m.span() for m in pattern.finditer(text.translate(table))]
        assert list(_secret_words(text)) == expected, repr(text)
