"""Which nginx module passes requests to the backend a log line's ``upstream:`` names, by its scheme.

Apart from ``routing`` because a log-only paste needs it too (a ``fastcgi://`` line gets the
fastcgi fix), while the router itself serves a pasted ``nginx -T`` and costs milliseconds to import.
"""

from __future__ import annotations

from bot.lazy_re import lazy_compile

_SCHEME = lazy_compile(r"^([a-z]{2,12})://")
_MODULE_OF_SCHEME = {"http": "proxy", "https": "proxy", "fastcgi": "fastcgi", "uwsgi": "uwsgi", "scgi": "scgi"}
_MODULE_OF_SCHEME |= {"grpc": "grpc", "grpcs": "grpc", "memcached": "memcached", "suwsgi": "uwsgi"}


def backend_module(upstream: str | None) -> str | None:
    """The module a log's ``upstream: "fastcgi://..."`` names: ``fastcgi``, ``proxy`` ..."""
    if not upstream:
        return None
    m = _SCHEME.match(upstream.strip().lower())
    return _MODULE_OF_SCHEME.get(m.group(1)) if m else None
