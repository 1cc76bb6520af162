"""The user's own names and addresses, so commands carry them instead of placeholders.

From what was pasted: the container or compose service (``docker exec web ...``, a
``web-1  | `` log prefix), the Kubernetes namespace and pod (``kubectl -n shop ...``,
``[pod/...]``), and from the matched lines the backend (``upstream:``), its socket, the
request's host and URI. An environment declares which placeholder of its commands takes
which value (``placeholders:`` in ``kb/environments``); an entry's diagnostics marked
``template: true`` are Jinja2 over these values, with the placeholder as fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.diagnosis.collect import Collected
from bot.diagnosis.recipe_facts import (
    RequestPlace,
    access_log_path,
    certificate_paths,
    error_log_path,
    place_request,
    upstream_target,
)
from bot.evidence.nginx_config.schemes import backend_module
from bot.grouping import MatchGroup
from bot.lazy_re import lazy_compile

_NAME = r"([A-Za-z0-9][A-Za-z0-9_.-]{0,127})"
_FLAGS = r"(?:(?:-[euw]\s+\S{1,200}|--(?:env|user|workdir|since|tail)[ =]\S{1,200}|-{1,2}[A-Za-z-]{1,30})\s+)*"
_DOCKER = lazy_compile(r"\bdocker\s+(?:exec|logs|top|inspect|restart|kill)\s+" + _FLAGS + _NAME)
_COMPOSE = lazy_compile(r"\bdocker[ -]compose\s+(?:exec|logs|top|restart)\s+" + _FLAGS + _NAME)
_COMPOSE_PREFIX = lazy_compile(r"^" + _NAME + r"(?:[-_][0-9]{1,3})\s{1,12}\|\s", re.MULTILINE)
_NAMESPACE = lazy_compile(r"\bkubectl\b[^\n]{0,200}?\s(?:-n|--namespace)[ =]" + _NAME)
_POD = lazy_compile(r"\[pod/" + _NAME + r"/")
_HOST_PORT = lazy_compile(
    r"^(?:[a-z]{2,12}://)?(\[[0-9A-Fa-f:.]{2,45}\]|[^:/\s]{1,253})(?::([0-9]{1,5}))?(/\S{0,2048})?$"
)


def _first(pattern: re.Pattern[str], texts: Iterable[str]) -> str | None:
    for text in texts:
        m = pattern.search(text)
        if m is not None:
            return m.group(1)
    return None


def pasted_names(ev: Collected) -> dict[str, str]:
    """``container``, ``service``, ``namespace``, ``pod`` found in what was pasted."""
    texts = ev.env_text
    out: dict[str, str] = {}
    found = {
        "container": _first(_DOCKER, texts),
        "service": _first(_COMPOSE, texts) or _first(_COMPOSE_PREFIX, texts),
        "namespace": _first(_NAMESPACE, texts),
        "pod": _first(_POD, texts),
    }
    for key, value in found.items():
        if value:
            out[key] = value
    if "namespace" in out:
        out["namespace_flag"] = f"-n {out['namespace']}"
    return out


def fill_placeholders(command: str, placeholders: dict[str, str], names: dict[str, str]) -> str:
    """``command`` with each declared placeholder replaced by the pasted value, when there is one."""
    for token, key in placeholders.items():
        value = names.get(key)
        if value:
            command = command.replace(token, value)
    return command


def command_values(ev: Collected, group: MatchGroup | None, names: dict[str, str] | None = None) -> dict[str, Any]:
    """What a templated diagnostic or evidence command may use (empty strings when unknown).

    ``names``: ``pasted_names(ev)`` when the caller has it (it scans up to
    ``ENV_SAMPLE_CHARS`` of pasted text with five patterns: once per diagnosis is enough).
    """
    facts = group.summary_facts() if group is not None else {}
    upstream = facts.get("upstream", "")
    scheme = backend_module(upstream) or ""
    target = upstream_target(upstream)
    socket = facts.get("socket") or (target[5:] if target.startswith("unix:") else "")
    host = port = path = ""
    m = _HOST_PORT.match(target) if target and not socket else None
    if m is not None:
        host, port, path = m.group(1), m.group(2) or "", m.group(3) or ""
    place = place_request(ev, facts) if ev.config is not None and facts else None
    cert, key = certificate_paths(ev, place, facts)
    return {
        "container": "",
        "service": "",
        "namespace": "",
        "pod": "",
        **(pasted_names(ev) if names is None else names),
        "facts": facts,
        "upstream_scheme": scheme,
        "upstream_url": upstream if scheme == "proxy" else "",
        "backend": f"{host}:{port}" if host and port else host,
        "backend_host": host.strip("[]"),
        "backend_port": port,
        "backend_path": path,
        "socket": socket,
        "request_host": (facts.get("host") or "").split(":")[0],
        "uri": (facts.get("request") or " / ").split(" ")[1] if " " in (facts.get("request") or "") else "/",
        "error_log": error_log_path(ev, place),
        "peer": facts.get("peer", ""),
        "hostname": facts.get("hostname", ""),
        "resolver": resolver_address(ev, place),
        "path": _shell_word(facts.get("path") or socket),
        "cert": _shell_word(cert),
        "key": _shell_word(key),
        "access_log": _shell_word(access_log_path(ev, place)),
    }


def _shell_word(value: str) -> str:
    """A path as one shell word: as it is when plain, single-quoted otherwise (it came from a log line)."""
    if not value or re.fullmatch(r"[A-Za-z0-9_./@%+=:,-]{1,4096}", value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def resolver_address(ev: Collected, place: RequestPlace | None) -> str:
    """The first address of the ``resolver`` in force where the request was handled (else the first
    one in the dump), for asking the DNS server nginx itself asks; empty when none is known."""
    blocks = [place.tree, *place.route.path] if place is not None else []
    for block in reversed(blocks):
        own = block.own("resolver")
        if own and own[0].args:
            return _address_only(own[0].args[0])
    if ev.config is not None:
        for d in ev.config.find("resolver"):
            if d.args:
                return _address_only(d.args[0])
    return ""


def _address_only(arg: str) -> str:
    """``127.0.0.11:53`` → ``127.0.0.11``, ``[::1]:53`` → ``::1``: ``dig @`` takes the port apart."""
    if arg.startswith("["):
        return arg[1:].partition("]")[0]
    host, sep, port = arg.rpartition(":")
    return host if sep and port.isascii() and port.isdigit() and ":" not in host else arg
