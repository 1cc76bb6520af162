"""Parse a pasted ``nginx -T`` dump (or a lone config file / server block) into directives.

``nginx -T`` prints every file it parsed, in first-seen order, each after a
``# configuration file PATH:`` header and followed by one blank line (NGINX-FACTS 4). We
split on those headers, keep each file's exact text (diffs are made against it), write the
files under a private temporary directory and let crossplane parse each one. Includes are
resolved here, against the files in the dump, never against the machine running the bot:
the paste describes the user's server, and ``/etc/nginx/conf.d/*.conf`` on our host is
not theirs.

Pastes are damaged in predictable ways (cut off mid-block, an extra ``}``, shell prompts
around the output, no headers at all, bytes from a binary file). None of that raises: the
damage becomes a ``ConfigIssue`` with file and line, the broken spot is patched in the
temporary copy only, and everything parseable is still extracted.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from crossplane.analyzer import DIRECTIVES as _KNOWN_DIRECTIVES

from bot.evidence.nginx_config.file_parser import parse_file
from bot.evidence.nginx_config.model import (
    PASTED,
    ConfigIssue,
    ConfigParseError,
    Directive,
    NginxConfig,
    ProxyPass,
    Upstream,
)
from bot.evidence.nginx_config.split import split_dump, strip_noise
from bot.evidence.nginx_config.walk import Walk, orphan_context, upstream_of
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_T = TypeVar("_T")
_R = TypeVar("_R")


class Mapper(Protocol):
    """``map`` over a list, results in order: the builtin one, or a front door's process pool.

    The engine creates no processes (the Slack bot is multi-threaded, and forking a threaded
    process is unsafe); the CLI, single-threaded, passes one that spreads the work over every
    CPU. ``fn`` is a module-level function and the items plain data, so any pool can run them.
    """

    def __call__(self, fn: Callable[[_T], _R], items: Sequence[_T], /) -> Iterable[_R]: ...


SPREAD_MIN_BYTES = 1 << 20
"""Dumps at least this big, in several files, are worth handing to the mapper (crossplane's
lexer is pure Python and most of the cost of a large dump); smaller ones are parsed in turn."""

SPREAD_MIN_FILES = 4


_CONFIG_LINE_END = lazy_compile(r"[;{}]\s*(?:#.*)?$")


def looks_like_config(text: str) -> bool:
    """Mostly lines ending in ``;``, ``{`` or ``}``: nginx configuration, not prose or logs."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) < 3:
        return False
    ends = sum(1 for ln in lines if _CONFIG_LINE_END.search(ln))
    return ends >= 0.6 * len(lines) and any(ln.endswith("{") for ln in lines)


def _has_known_directive(directives: list[Directive]) -> bool:
    return any(d.name in _KNOWN_DIRECTIVES for d in directives)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while the parse allocates.

    A 10,000-server dump makes about a million small dicts, lists and tuples; the collector's
    repeated passes over them while they are being built cost more than a third of the parse.
    On the way out the collector is simply switched back on, so the survivors age through the
    generations with the usual accounting. (Moving them straight to the oldest generation
    with ``gc.freeze(); gc.unfreeze()`` skipped that accounting: the reference cycles every
    ``crossplane.parse`` leaves behind, each holding a whole parsed file, were then never
    collected, and a long-running worker grew by about 30 MB per thousand pastes.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_dump(text: str, *, map_files: Mapper = map) -> NginxConfig:
    """Parse ``nginx -T`` output, a lone nginx.conf or a lone ``server {}`` block. Never raises on damage.

    Raises ``ConfigParseError`` only when nothing in ``text`` looks like NGINX configuration.
    ``map_files`` parses the files of a big dump (see ``Mapper``); the result does not depend on it.
    """
    with _gc_paused():
        return _parse_dump(text, map_files)


def _parse_dump(text: str, map_files: Mapper) -> NginxConfig:
    text = text.replace("\r\n", "\n")
    files, issues = split_dump(text)
    wrapped: list[str] = []
    if not files:
        kept = strip_noise(text.split("\n"), leading=True, prose=True)
        files = {PASTED: "\n".join(kept)[:-1] if kept[-2:] == ["", ""] else "\n".join(kept)}
    main_file = next(iter(files))
    parsed: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="nginx-triage-") as root:
        jobs = [(root, index, path, content) for index, (path, content) in enumerate(files.items())]
        spread = len(files) >= SPREAD_MIN_FILES and sum(len(c) for c in files.values()) >= SPREAD_MIN_BYTES
        results = (map_files if spread else map)(parse_file, jobs)
        for path, stmts, file_issues, wrap_names in results:
            issues.extend(file_issues)
            parsed[path] = stmts
            if wrap_names:
                wrapped = wrap_names

    prefix = os.path.dirname(main_file) if os.path.isabs(main_file) else None
    state = Walk(parsed=parsed, prefix=prefix, issues=issues)
    state.visited.add(main_file)
    main_stmts = parsed[main_file]
    ctx: tuple[str, ...] = ()
    for name in wrapped:  # step inside the synthetic ``http {`` / ``server {`` on line 1
        if len(main_stmts) == 1 and main_stmts[0]["directive"] == name and main_stmts[0].get("block") is not None:
            ctx = (*ctx, name)
            main_stmts = main_stmts[0]["block"]
    state.walk(main_stmts, main_file, ctx, frozenset((main_file,)))
    for path, stmts in parsed.items():
        if path not in state.visited and not state.stopped:  # after a budget stop, unread is not orphaned
            ctx = orphan_context(stmts)
            issues.append(
                ConfigIssue(
                    say("evidence.orphan_file", context=" > ".join(ctx) or "main"),
                    path,
                    None,
                )
            )
            state.visited.add(path)
            state.walk(stmts, path, ctx, frozenset((path,)))

    if PASTED in files and not _has_known_directive(state.directives):
        raise ConfigParseError(say("evidence.no_config", lines=text.count("\n") + 1))

    upstreams: dict[str, Upstream] = {}
    names: dict[str, set[str]] = {"http": set(), "stream": set()}
    for u in state.upstreams:
        names.setdefault(u.context, set()).add(u.name)
        key = u.name if u.name not in upstreams else f"{u.context}:{u.name}"
        upstreams.setdefault(key, u)
    proxies = [
        ProxyPass(
            directive=d.name,
            target=d.args[0],
            upstream=upstream_of(d.args[0], names.get(d.protocol or "http", set())),
            file=d.file,
            line=d.line,
            context=d.protocol or "http",
        )
        for d in state.raw_proxies
    ]
    return NginxConfig(
        files=files,
        main_file=main_file,
        directives=state.directives,
        errors=issues,
        listens=state.listens,
        proxies=proxies,
        upstreams=upstreams,
        by_name=state.by_name,
    )
