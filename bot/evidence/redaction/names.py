"""Which names name a secret: headers, environment variables, settings, query parameters,
nginx variables.

Each kind of name has its own rule because each is written differently: a header is
``X-Api-Key``, an environment variable glues words (``PGPASSWORD``, ``DBPASS``,
``REDISCLI_AUTH``), a setting is ``client_secret`` or ``clientSecret``, a query parameter is
``sig``. Names whose last word says the value is something else (``_file``, ``_url``,
``_timeout``, ``_name``) never count: their value is a path, an address, a time.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

from bot.lazy_re import lazy_compile

_SPLIT = lazy_compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "credential",
        "credentials",
        "signature",
        "sig",
        "hmac",
        "jwt",
    }
)
"""Words that make a setting secret wherever they stand (``db_password``, ``clientSecret``)."""

KEY_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("app", "key"),
        ("session", "key"),
        ("license", "key"),
        ("account", "key"),
        ("client", "secret"),
        ("auth", "key"),
        ("auth", "token"),
        ("session", "id"),
    }
)
"""Two words that make a secret together: ``api_key`` is one, ``proxy_cache_key`` is not."""

GLUED_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey")
"""A single glued word ending in one of these is secret too (``pgpassword``, ``authtoken``)."""

ENV_SUFFIXES = (
    "pass",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "auth",
    "license",
    "licence",
    "credential",
    "credentials",
    "creds",
    "dsn",
    "cookie",
    "session",
    "salt",
    "pin",
    "signature",
    "hmac",
    "jwt",
)
"""Environment-style names glue words (``PGPASSWORD``, ``DBPASS``): any word ending in one of these."""

NOT_SECRET_WORDS = frozenset(
    {"bypass", "compass", "passenger", "passthrough", "passive", "monkey", "keyboard", "hotkey", "turnkey"}
)
"""Words that merely end like a secret word."""

VALUE_IS_SOMETHING_ELSE = frozenset(
    {
        "file",
        "files",
        "path",
        "dir",
        "directory",
        "zone",
        "timeout",
        "ttl",
        "size",
        "length",
        "len",
        "cache",
        "expires",
        "expiry",
        "url",
        "uri",
        "endpoint",
        "host",
        "hostname",
        "port",
        "name",
        "type",
        "realm",
        "prefix",
        "suffix",
        "format",
        "mode",
        "enabled",
        "enable",
        "method",
        "scheme",
        "algorithm",
        "alg",
        "version",
        "count",
        "max",
        "min",
        "age",
        "lifetime",
        "interval",
        "location",
        "status",
        "level",
        "log",
        "header",
        "field",
        "param",
        "tokens",
    }
)
"""When a name's last word is one of these, its value is a path, a time, an address or a label."""

NGINX_NOT_SECRET = frozenset(
    {
        "proxy_pass",
        "fastcgi_pass",
        "uwsgi_pass",
        "scgi_pass",
        "grpc_pass",
        "memcached_pass",
        "server_tokens",
        "proxy_pass_header",
        "proxy_pass_request_body",
        "proxy_pass_request_headers",
        "proxy_pass_trailers",
    }
)
"""Directive names that contain ``pass`` or ``token`` and are not secrets."""

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "set-cookie2", "www-authenticate"}
)
HEADER_LAST_WORDS = frozenset(
    {
        "key",
        "token",
        "secret",
        "signature",
        "sig",
        "password",
        "passwd",
        "pass",
        "session",
        "jwt",
        "credential",
        "credentials",
        "apikey",
        "hmac",
        "assertion",
    }
)
"""``X-Api-Key``, ``X-Auth-Token``, ``X-Hub-Signature``: the header's last word says it is a secret."""

QUERY_WORDS = frozenset(
    {
        "session",
        "sessionid",
        "sess",
        "sid",
        "token",
        "key",
        "apikey",
        "signature",
        "sig",
        "auth",
        "password",
        "pass",
        "passwd",
        "pwd",
        "secret",
        "code",
        "hmac",
        "md5",
        "hash",
        "jwt",
        "ticket",
        "credential",
        "otp",
    }
)
"""Query parameters that carry a session, a key or a signature (``?session=``, ``&sig=``)."""
QUERY_GLUED = ("sessid", "sessionid", "token", "signature", "apikey", "secret", "password")


def components(name: str) -> list[str]:
    """The words of a name, lower-cased: ``X-Api-Key`` and ``xApiKey`` give ``['x', 'api', 'key']``."""
    return [part.lower() for part in _SPLIT.split(name) if part]


def _last_says_not_secret(parts: list[str]) -> bool:
    return bool(parts) and parts[-1] in VALUE_IS_SOMETHING_ELSE


@lru_cache(maxsize=8192)
def is_secret_key(name: str) -> bool:
    """Whether a setting, a key in JSON/YAML/INI or a variable names a secret value."""
    if name.lower() in NGINX_NOT_SECRET:
        return False
    parts = components(name)
    if not parts or _last_says_not_secret(parts):
        return False
    if any(p in SECRET_WORDS for p in parts):
        return True
    if any(pair in KEY_PAIRS for pair in pairwise(parts)):
        return True
    return any(p.endswith(GLUED_SUFFIXES) and p not in NOT_SECRET_WORDS for p in parts)


@lru_cache(maxsize=8192)
def is_secret_env_name(name: str) -> bool:
    """Whether an environment-style name (``env NAME=``, ``fastcgi_param NAME``, ``NAME=`` in a
    shell) names a secret; words are glued there, so endings count (``PGPASSWORD``, ``DBPASS``)."""
    parts = components(name)
    if not parts or _last_says_not_secret(parts):
        return False
    return any(p.endswith(ENV_SUFFIXES) and p not in NOT_SECRET_WORDS for p in parts) or is_secret_key(name)


@lru_cache(maxsize=8192)
def is_secret_header(name: str) -> bool:
    """Whether an HTTP header carries a credential: ``Authorization``, ``Cookie``, ``Set-Cookie``,
    ``*-Key``, ``*-Token``, ``*-Secret``, ``*-Auth*``."""
    lowered = name.lower().replace("_", "-")
    if lowered in SECRET_HEADERS:
        return True
    parts = components(lowered)
    if not parts:
        return False
    if parts[-1] in HEADER_LAST_WORDS:
        return True
    return any(p.startswith("auth") for p in parts)


def is_authorization(name: str) -> bool:
    """``Authorization`` and ``Proxy-Authorization`` (and their CGI spellings): the value keeps its scheme."""
    lowered = name.lower().replace("_", "-")
    return lowered.removeprefix("http-") in ("authorization", "proxy-authorization")


def cookie_style(name: str) -> str | None:
    """``cookie`` (every value masked), ``set-cookie`` (the first pair's value), or None."""
    lowered = name.lower().replace("_", "-").removeprefix("http-")
    if lowered == "cookie":
        return "cookie"
    if lowered in ("set-cookie", "set-cookie2"):
        return "set-cookie"
    return None


@lru_cache(maxsize=8192)
def is_secret_query(name: str) -> bool:
    """Whether a query parameter carries a session, key, token or signature."""
    parts = components(name)
    if not parts or _last_says_not_secret(parts):
        return False
    if any(p in QUERY_WORDS for p in parts):
        return True
    return any(p.endswith(QUERY_GLUED) for p in parts) or is_secret_key(name)


_REQUEST_PREFIXES = ("http_", "cookie_", "arg_", "sent_http_", "upstream_http_", "upstream_cookie_")


@lru_cache(maxsize=8192)
def is_secret_variable(name: str) -> bool:
    """Whether an nginx variable (without ``$``) holds a secret: its name says so, or it is a
    request header, cookie or argument that carries one (``$http_x_api_key``, ``$cookie_session``)."""
    name = name.lstrip("$").strip("{}")
    lowered = name.lower()
    for prefix in _REQUEST_PREFIXES:
        if lowered.startswith(prefix):
            rest = lowered[len(prefix) :]
            if prefix.startswith(("cookie", "upstream_cookie")):
                return True  # a cookie's value is a session more often than not
            if prefix == "arg_":
                return is_secret_query(rest)
            return is_secret_header(rest.replace("_", "-"))
    parts = components(lowered)
    if _last_says_not_secret(parts):
        return False
    return is_secret_key(lowered) or bool({"auth", "basic", "bearer", "cookie", "session"} & set(parts))
