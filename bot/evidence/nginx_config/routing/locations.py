"""Which ``location {}`` takes a URI, as ``ngx_http_core_find_location`` does.

1. Exact ``=`` locations and prefixes: an exact match ends the search; otherwise the longest
   matching prefix is remembered and its nested locations are searched the same way.
2. Unless that prefix has ``^~``, the regex locations (``~`` case-sensitive, ``~*`` not)
   are tried in the order they appear, the nested ones of the remembered prefix before the
   ones around it; the first match wins (and its own nested locations are searched).
3. Else the remembered prefix takes it. A URI one ``/`` short of a prefix location that
   passes requests on (``proxy_pass`` ...) gets a redirect to it instead (``auto_redirect``).

The URI is compared after nginx's normalisation: query string cut, ``%XX`` decoded, ``//``
merged, ``.`` and ``..`` resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from bot.evidence.nginx_config.model import PASS_DIRECTIVES
from bot.evidence.nginx_config.routing.tree import Block
from bot.evidence.nginx_config.routing.user_regex import compile_user_regex, user_search
from bot.lazy_re import lazy_compile

_NAMED_GROUP = lazy_compile(r"\(\?<(?=[A-Za-z_])")
_MAX_DEPTH = 32


@dataclass(frozen=True)
class LocationChoice:
    """The location that takes a URI (None: the server itself), and how it was found."""

    block: Block | None
    reason: str
    """``exact``, ``prefix``, ``prefix-noregex`` (``^~``), ``regex``, ``redirect`` or ``none``."""
    uncertain: tuple[str, ...] = ()


def normalize_uri(uri: str) -> str:
    """The URI as nginx matches locations against it."""
    path = uri.split("?", 1)[0].split("#", 1)[0]
    if "://" in path[:16]:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    path = unquote(path, errors="replace") if "%" in path else path
    if not path.startswith("/"):
        path = "/" + path
    path = re.sub(r"/{2,}", "/", path)
    segments = path.split("/")[1:]
    parts: list[str] = []
    for i, seg in enumerate(segments):
        if seg in (".", ".."):
            if seg == ".." and parts:
                parts.pop()
            if i == len(segments) - 1:
                parts.append("")  # "/a/." and "/a/.." end in a slash
            continue
        parts.append(seg)
    return "/" + "/".join(parts)


def modifier(loc: Block) -> tuple[str, str]:
    """``(modifier, path)`` of a location: ``('', '/')``, ``('=', '/x')``, ``('~*', 'rx')``, ``('@', 'name')``."""
    args = loc.args
    if not args:
        return "", ""
    if len(args) >= 2 and args[0] in ("=", "~", "~*", "^~"):
        return args[0], args[1]
    first = args[0]
    if first.startswith("@"):
        return "@", first[1:]
    for mod in ("=", "~*", "^~", "~"):  # written without a space: ``location =/x``
        if first.startswith(mod) and len(first) > len(mod):
            return mod, first[len(mod) :]
    return "", first


def compile_location(mod: str, pattern: str) -> re.Pattern[str] | None:
    """A regex location as Python reads it; None when it cannot be read."""
    return compile_user_regex(_NAMED_GROUP.sub("(?P<", pattern), re.IGNORECASE if mod == "~*" else 0)


def passes_on(loc: Block) -> bool:
    """Whether the location itself hands requests to a backend (``proxy_pass`` ...)."""
    return any(d.name in PASS_DIRECTIVES for d in loc.statements)


def _static(parent: Block, uri: str) -> tuple[str, Block | None]:
    """``('exact', loc)``, ``('prefix', loc)``, ``('redirect', loc)`` or ``('none', None)``."""
    best: Block | None = None
    best_len = -1
    redirect: Block | None = None
    for loc in parent.blocks("location"):
        mod, path = modifier(loc)
        if mod == "=" and path == uri:
            return "exact", loc
        if mod in ("", "^~"):
            if uri.startswith(path) and len(path) > best_len:
                best, best_len = loc, len(path)
            elif path == uri + "/" and passes_on(loc):
                redirect = loc
    if redirect is not None and best_len < len(uri):
        return "redirect", redirect
    return ("prefix", best) if best is not None else ("none", None)


def find_location(parent: Block, uri: str, depth: int = 0) -> LocationChoice:
    """The location inside ``parent`` (a server or a location) that takes ``uri``."""
    uncertain: list[str] = []
    if depth > _MAX_DEPTH:
        return LocationChoice(None, "none", ("nesting-too-deep",))
    kind, found = _static(parent, uri)
    if kind in ("exact", "redirect"):
        return LocationChoice(found, kind)
    noregex = False
    chosen = LocationChoice(None, "none")
    if found is not None:
        noregex = modifier(found)[0] == "^~"
        inner = find_location(found, uri, depth + 1)
        uncertain += inner.uncertain
        if inner.reason in ("exact", "regex", "redirect"):
            return LocationChoice(inner.block, inner.reason, tuple(uncertain))
        chosen = inner if inner.block is not None else LocationChoice(found, "prefix-noregex" if noregex else "prefix")
    if not noregex:
        for loc in parent.blocks("location"):
            mod, pattern = modifier(loc)
            if mod not in ("~", "~*"):
                continue
            rx = compile_location(mod, pattern)
            hit = None if rx is None else user_search(rx, uri)
            if hit is None:
                uncertain.append("regex-unreadable")
                continue
            if hit:
                inner = find_location(loc, uri, depth + 1)
                block = inner.block if inner.block is not None else loc
                return LocationChoice(block, "regex", tuple(uncertain + list(inner.uncertain)))
    return LocationChoice(chosen.block, chosen.reason, tuple(uncertain))


def named_location(server: Block, name: str) -> Block | None:
    """``location @name`` of a server."""
    for loc in server.blocks("location"):
        if modifier(loc) == ("@", name.lstrip("@")):
            return loc
    return None
