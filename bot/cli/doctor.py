"""``nginx-triage doctor``: is this installation complete and fast?

Says whether the C accelerator (``bot.native._fastscan``) is built and how to get it when
it is not (a missing compiler at install silently costs ~16x on big logs), whether the
compiled KB cache holds the current KB, and the versions a bug report needs. Exit 0 when
everything is there, 1 when the accelerator is missing or the KB does not load.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

NATIVE_TEXTS = {"off": "install.native_off", "missing": "install.native_missing"}
"""What ``doctor`` says when the accelerator is not in use, by ``native_state``."""

BIG_INPUT_TEXTS = {"off": "install.native_off_big", "missing": "install.native_missing_big"}
"""The one stderr line on a big input without the accelerator, by ``native_state``."""


def _version(dist: str) -> str:
    # Imported here, not at the top: ``native_state`` is asked on every big input
    # (``intake.warn_if_slow``), and importlib.metadata pulls in the email package (~20 ms).
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def native_state() -> tuple[str, str | None]:
    """(``ok`` | ``off`` | ``missing``, the module's file when it is there)."""
    if os.environ.get("NGINX_TRIAGE_NO_NATIVE"):
        return "off", None
    try:
        from bot.native import _fastscan
    except ImportError:
        return "missing", None
    return "ok", getattr(_fastscan, "__file__", None)


def report() -> dict[str, Any]:
    """Everything ``doctor`` checks, as data (the JSON format prints it as is)."""
    import platform

    from bot.knowledge.kb_cache import cache_state, cached_kb
    from bot.knowledge.loader import KnowledgeBaseError, kb_dirs_from_env
    from bot.native.layout import LAYOUT_VERSION

    state, path = native_state()
    out: dict[str, Any] = {
        "versions": {
            "nginx-triage": _version("nginx-triage"),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "native": {"state": state, "path": path, "layout_version": LAYOUT_VERSION},
        "kb_cache": cache_state(),
        "kb": {"dirs": [str(d) for d in kb_dirs_from_env()]},
    }
    try:
        kb = cached_kb()
    except KnowledgeBaseError as exc:
        out["kb"]["error"] = str(exc)
    else:
        out["kb"]["entries"] = {"errors": len(kb.errors), "faqs": len(kb.faqs), "recipes": len(kb.recipes)}
        out["kb_cache"] = cache_state()  # built just now when it was not
    return out


def doctor(fmt: str) -> int:
    """Print the report; the exit code says whether anything needs attention."""
    from bot.knowledge.texts import say

    data = report()
    native = data["native"]
    healthy = native["state"] == "ok" and "error" not in data["kb"]
    if fmt == "json":
        sys.stdout.write(json.dumps({**data, "ok": healthy}, indent=2) + "\n")
        return 0 if healthy else 1
    v = data["versions"]
    lines = [f"nginx-triage {v['nginx-triage']}, Python {v['python']}, {v['platform']}"]
    if native["state"] == "ok":
        lines.append("C accelerator: " + say("install.native_ok", path=native["path"]))
    else:
        lines.append("C accelerator: " + say(NATIVE_TEXTS[native["state"]]))
        if native["state"] == "missing":
            lines.append("  " + say("install.native_how"))
    cache = data["kb_cache"]
    lines.append(f"KB cache: {cache['state']}; {cache['path']}; writable: {cache['writable']}")
    kb = data["kb"]
    if "error" in kb:
        lines.append(f"KB: does not load: {kb['error']}")
    else:
        e = kb["entries"]
        lines.append(f"KB: {e['errors']} errors, {e['faqs']} FAQs, {e['recipes']} recipes from {', '.join(kb['dirs'])}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if healthy else 1
