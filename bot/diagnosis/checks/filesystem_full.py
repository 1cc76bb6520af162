"""A filesystem nginx writes to is full (its blocks or its inodes), from ``df -h; df -i``.

``(28: No space left on device)`` says a write failed, not where the space went: ``df``
places each path nginx writes (the line's own file, the temp, cache and log paths of
``nginx -T``, the build's defaults from ``nginx -V``) on its mount, and says whether that
mount is out of blocks or of inodes (``df -h`` can show room while ``df -i`` is at 100%).
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts
from bot.diagnosis.collect import Collected

READS = ("space",)

WRITTEN_BY_NGINX = (
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
    "proxy_cache_path",
    "fastcgi_cache_path",
    "uwsgi_cache_path",
    "scgi_cache_path",
    "error_log",
    "access_log",
)
"""Directives whose first argument is a file or directory nginx writes at run time."""


def _paths(c: CheckContext) -> list[tuple[str, dict[str, Any]]]:
    """(path, where it is set: directive, file, line) for every path nginx writes, the lines' own first."""
    ev: Collected = c.ev
    out: list[tuple[str, dict[str, Any]]] = []
    for group in c.groups("space"):
        tally = group.tallies.get("path")
        found = [p for p, _n in tally.top(5)] if tally is not None else []
        found = found or [group.summary_facts().get("path") or ""]
        out += [(p, {"directive": "", "file": "", "line": None}) for p in found if p]
    if ev.config is not None:
        for name in WRITTEN_BY_NGINX:
            out += [
                (d.args[0], {"directive": name, "file": d.file, "line": d.line}) for d in ev.config.find(name) if d.args
            ]
    if ev.build is not None:
        built = ev.build.paths.items()
        out += [
            (p, {"directive": f"--{k}", "file": "", "line": None})
            for k, p in built
            if k.endswith(("temp-path", "log-path"))
        ]
    return [(p, src) for p, src in out if p.startswith("/") and "$" not in p]


def check(c: CheckContext) -> Facts | None:
    """The first full mount that holds a path nginx writes, with every such path on it."""
    usage = c.ev.disk
    if usage is None:
        return None
    full: dict[str, dict[str, Any]] = {}
    for path, source in _paths(c):
        fs = usage.mount_of(path)
        if fs is None or not (fs.blocks_full or fs.inodes_full):
            continue
        entry = full.setdefault(
            fs.mount,
            {
                "mount": fs.mount,
                "device": fs.source,
                "blocks_full": fs.blocks_full,
                "inodes_full": fs.inodes_full,
                "size": fs.size or "?",
                "use": fs.use_percent,
                "inodes": fs.inodes or "?",
                "iuse": fs.iuse_percent,
                "paths": [],
            },
        )
        if path not in [p["path"] for p in entry["paths"]] and len(entry["paths"]) < 8:
            entry["paths"].append({"path": path, **source})
    if not full:
        return None
    mounts = list(full.values())
    return {
        **mounts[0],
        "others": [m["mount"] for m in mounts[1:]],
        "lines": c.count("space"),
        "samples": c.samples("space"),
    }
