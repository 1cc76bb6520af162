"""What a recipe's expressions see, by the recipe's ``facts:`` source.

``request``: the matched lines' facts (the first line's, with tallied values by frequency),
the ``server`` / ``location`` that handled the request (``bot.evidence.nginx_config.routing``,
following ``try_files`` / ``error_page`` to the location that passed it to the backend the
line names), which module passes it on (``upstream_module``), and ``effective(name)``: the
value in force there. ``finding``: the check's facts. Every source also gets the value
helpers (``size_limit``, ``seconds`` ...) and the environment's id and traits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.diagnosis.collect import Collected
from bot.diagnosis.recipe_values import HELPERS, number
from bot.evidence.nginx_config.schemes import backend_module
from bot.grouping import MatchGroup
from bot.knowledge.texts import say

if TYPE_CHECKING:
    from bot.evidence.nginx_config.routing import Block, Route
    from bot.knowledge.schema import EnvironmentEntry

_ACTION_TIMEOUT = (("connecting", "connect"), ("sending", "send"), ("reading", "read"), ("upgraded", "read"))


@dataclass(frozen=True)
class RequestPlace:
    """Where a matched request was handled, when ``nginx -T`` was pasted."""

    tree: Block
    route: Route


def timeout_kind(action: str) -> str:
    """Which ``*_timeout`` the ``while ...`` part of a line names: ``connect``, ``send`` or ``read``."""
    for word, kind in _ACTION_TIMEOUT:
        if word in action:
            return kind
    return "read"


def place_request(ev: Collected, facts: dict[str, str]) -> RequestPlace | None:
    """The route of the request a line describes, or None without a pasted config."""
    config = ev.config
    if config is None:
        return None
    from bot.evidence.nginx_config.routing import build_tree, follow_to_backend, request_from_facts, route

    tree = build_tree(config)
    first = route(config, request_from_facts(facts), tree)
    return RequestPlace(tree, follow_to_backend(config, first, facts.get("upstream"), tree))


def base_facts(env: EnvironmentEntry | None, ev: Collected | None = None) -> dict[str, Any]:
    """What every recipe sees: the helpers, the environment and its traits, the main error log."""
    return {
        **HELPERS,
        "env": env.id if env else "",
        "traits": list(env.traits) if env else [],
        "error_log": error_log_path(ev, None) if ev is not None else say("plan.default_error_log"),
    }


def request_facts(
    ev: Collected, group: MatchGroup, env: EnvironmentEntry | None
) -> tuple[dict[str, Any], RequestPlace | None]:
    """The facts of a ``request`` recipe for one matched group, and where the request was handled."""
    from bot.evidence.nginx_config.routing import effective, request_from_facts

    facts = group.summary_facts()
    place = place_request(ev, facts)
    handled = place.route if place is not None and place.route.server is not None else None

    def in_force(name: str) -> str | None:
        found = effective(handled, name) if handled is not None else []
        return " ".join(found[0].args) if found else None

    module = (handled.upstream_module if handled else None) or backend_module(facts.get("upstream")) or "proxy"
    request = request_from_facts(facts)
    action = facts.get("action", "")
    values: dict[str, Any] = {
        **base_facts(env, ev),
        "facts": facts,
        "count": group.count,
        "action": action,
        "timeout_kind": timeout_kind(action),
        "upstream_module": module,
        "body_bytes": number(facts.get("body_bytes")),
        "handled": handled is not None,
        "context": handled.context if handled else "",
        "uncertain": list(handled.uncertain) if handled else [],
        "doubt": doubt(handled.uncertain) if handled else "",
        "effective": in_force,
        "method": (facts.get("request") or "GET").split(" ", 1)[0],
        "uri": request.uri.split(" ", 1)[0],
        # The path alone names the request in prose: a query string may hold a (masked) token.
        "path": request.uri.split(" ", 1)[0].split("?", 1)[0],
        "host": request.host or "",
        "error_log": error_log_path(ev, place),
        "upstream_target": upstream_target(facts.get("upstream")),
        "upstream_url": (facts.get("upstream") or "").split("?", 1)[0],
    }
    return values, place


_DOUBTS = {
    "if-block": "routing.if_block",
    "rewrite": "routing.rewrite",
    "return": "routing.return",
    "port-unknown": "routing.port_unknown",
    "address-unknown": "routing.address_unknown",
    "host-unknown": "routing.host_unknown",
    "variable-server-name": "routing.variable_server_name",
    "regex-unreadable": "routing.regex_unreadable",
    "nesting-too-deep": "routing.nesting_too_deep",
    "no-http-block": "routing.no_http_block",
}
"""The router's doubt codes and their words in ``kb/texts/routing.yaml``."""


def doubt(codes: tuple[str, ...]) -> str:
    """The router's doubts in words, empty when it is sure."""
    reasons = [say(_DOUBTS[code]) for code in codes if code in _DOUBTS]
    return say("routing.doubt", reasons=reasons) if reasons else ""


def error_log_path(ev: Collected, place: RequestPlace | None) -> str:
    """Where this request's errors are written: the ``error_log`` in force there, else the main one,
    else the build's default (``nginx -V``), else Debian's."""
    blocks = [place.tree, *place.route.path] if place is not None else []
    for block in reversed(blocks):
        for d in block.own("error_log"):
            if d.args and not d.args[0].startswith(("syslog:", "memory:")) and d.args[0] != "stderr":
                return d.args[0]
    if ev.config is not None:
        main = [d for d in ev.config.find("error_log") if d.context == () and d.args]
        if main and main[0].args[0] not in ("stderr",):
            return main[0].args[0]
    if ev.build is not None and ev.build.paths.get("error-log-path", "stderr") != "stderr":
        return ev.build.paths["error-log-path"]
    return say("plan.default_error_log")


def _in_force(ev: Collected, place: RequestPlace | None, name: str) -> list[str]:
    """The arguments of ``name`` where the request was handled, else of its first use in the dump."""
    if place is not None and place.route.server is not None:
        from bot.evidence.nginx_config.routing import effective

        found = effective(place.route, name)
        if found and found[0].args:
            return list(found[0].args)
    if ev.config is not None:
        for d in ev.config.find(name):
            if d.args:
                return list(d.args)
    return []


def access_log_path(ev: Collected, place: RequestPlace | None) -> str:
    """Where this request was logged: the ``access_log`` file in force there (else the first in the
    dump, else the build's ``--http-log-path``); empty when unknown (the command then says the default)."""
    args = _in_force(ev, place, "access_log")
    if args and args[0] != "off" and not args[0].startswith(("syslog:", "memory:")) and "$" not in args[0]:
        return args[0]
    if ev.build is not None and ev.build.paths.get("http-log-path"):
        return ev.build.paths["http-log-path"]
    return ""


def certificate_paths(ev: Collected, place: RequestPlace | None, facts: dict[str, str]) -> tuple[str, str]:
    """(certificate, key) files: the line's own file when it names one, else ``ssl_certificate`` and
    ``ssl_certificate_key`` where the request was handled (else the first in the dump)."""
    path = facts.get("path") or ""
    is_key = "key" in (facts.get("kind") or "") or path.endswith(".key")
    cert_args = _in_force(ev, place, "ssl_certificate")
    key_args = _in_force(ev, place, "ssl_certificate_key")
    cert = "" if is_key else path
    key = path if is_key else ""
    return cert or (cert_args[0] if cert_args else ""), key or (key_args[0] if key_args else "")


def upstream_target(upstream: str | None) -> str:
    """The backend a line names, without nginx's scheme prefix for sockets (``unix:/run/x.sock``)."""
    text = (upstream or "").strip()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if rest.startswith("unix:"):
            return rest.rstrip(":")
        if scheme in ("http", "https"):
            return text
        return rest.rstrip("/")
    return text
