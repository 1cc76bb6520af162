"""The value of a directive where a request is handled: the innermost block that sets it wins.

Inheritance runs http > server > location > nested location. Most directives take the
innermost value; array-like ones (``proxy_set_header``, ``add_header``, ``fastcgi_param``
...) are inherited only when the inner level sets none of them, so the innermost level
that sets any wins with all of its lines.
"""

from __future__ import annotations

from bot.evidence.nginx_config.model import Directive
from bot.evidence.nginx_config.routing.tree import Block

ARRAY_DIRECTIVES = frozenset(
    {
        "proxy_set_header",
        "proxy_hide_header",
        "proxy_pass_header",
        "add_header",
        "add_trailer",
        "fastcgi_param",
        "fastcgi_hide_header",
        "fastcgi_pass_header",
        "uwsgi_param",
        "uwsgi_hide_header",
        "scgi_param",
        "scgi_hide_header",
        "grpc_set_header",
        "grpc_hide_header",
        "error_page",
        "index",
        "allow",
        "deny",
        "limit_req",
        "limit_conn",
        "ssl_certificate",
        "ssl_certificate_key",
        "try_files",
    }
)
"""Directives whose inner block replaces the whole inherited list."""


def effective_in(path: list[Block], name: str) -> list[Directive]:
    """The ``name`` lines in effect at the end of ``path`` (outermost block first); [] when unset."""
    for block in reversed(path):
        own = block.own(name)
        if own:
            return own if name in ARRAY_DIRECTIVES else own[:1]
    return []


def set_in_ifs(block: Block, name: str) -> list[Directive]:
    """``name`` lines inside ``if`` blocks of ``block``: they apply only when the condition holds."""
    found: list[Directive] = []
    for inner in block.blocks("if"):
        found += inner.own(name)
        found += set_in_ifs(inner, name)
    return found
