"""Build the catalogue data in ``kb/catalog/`` from extracted records.

Two files, both generated, both committed:

* ``source.json``: what ``extract`` read from the pinned nginx release (one record per
  logging call, plus which modules define each directive). Regenerating it needs an nginx
  source tree (``nginx-triage kb catalog SRC``).
* ``messages.json``: one entry per distinct message (format and level), with its modules,
  source locations, directives, documentation links and the linear regex from
  ``pattern.build``. ``build_messages(source)`` must reproduce it exactly: a test checks it.

Both are written one record per line, so a new nginx release shows as a readable diff.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bot.knowledge.catalog import MESSAGES_FILE, SOURCE_FILE
from bot.knowledge.catalog.extract import KEPT_LEVELS, Extraction
from bot.knowledge.catalog.pattern import build

DOCS_BASE = "https://nginx.org/en/docs/"

# Modules whose directives nginx.org documents on the core page, or under another name.
_DOCS_PAGE = {
    "ngx_core_module": "ngx_core_module.html",
    "ngx_events_module": "ngx_core_module.html",
    "ngx_event_core_module": "ngx_core_module.html",
    "ngx_errlog_module": "ngx_core_module.html",
    "ngx_regex_module": "ngx_core_module.html",
    "ngx_thread_pool_module": "ngx_core_module.html",
    "ngx_openssl_module": "ngx_core_module.html",
    "ngx_http_module": "http/ngx_http_core_module.html",
    "ngx_stream_module": "stream/ngx_stream_core_module.html",
    "ngx_mail_module": "mail/ngx_mail_core_module.html",
}


def docs_url(directive: str, module: str) -> str:
    """nginx.org page and anchor of a directive defined by ``module``."""
    page = _DOCS_PAGE.get(module)
    if page is None:
        for area in ("http", "stream", "mail"):
            if module.startswith(f"ngx_{area}_"):
                page = f"{area}/{module}.html"
                break
        else:
            page = f"{module}.html"
    return f"{DOCS_BASE}{page}#{directive}"


def _area(module: str, file: str) -> str:
    for area in ("http", "stream", "mail"):
        if module.startswith(f"ngx_{area}_") or file.startswith(f"src/{area}/"):
            return area
    return "core"


def _defining_module(directive: str, modules: list[str], own: list[str], area: str) -> str:
    """Which of the modules that define ``directive`` a message of ``own`` modules means."""
    for mod in own:
        if mod in modules:
            return mod
    same_area = [m for m in modules if _area(m, "") == area]
    return (same_area or modules)[0]


def message_id(fmt: str, level: str) -> str:
    """A stable id: the same text at the same level keeps its id across releases."""
    return hashlib.sha1(f"{level}\0{fmt}".encode()).hexdigest()[:12]


def build_messages(source: dict[str, Any]) -> dict[str, Any]:
    """``messages.json`` content from ``source.json`` content."""
    directive_modules: dict[str, list[str]] = source["directives"]
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in source["records"]:
        grouped.setdefault((rec["format"], rec["level"]), []).append(rec)
    messages = []
    for (fmt, level), recs in grouped.items():
        modules = list(dict.fromkeys(r["module"] for r in recs))
        directives = sorted({d for r in recs for d in r["directives"]})
        area = _area(modules[0], recs[0]["file"])
        pattern = build(fmt)
        messages.append(
            {
                "id": message_id(fmt, level),
                "format": fmt,
                "level": level,
                "module": modules[0],
                "modules": modules,
                "source": f"{recs[0]['file']}:{recs[0]['line']}",
                "sources": [f"{r['file']}:{r['line']}" for r in recs],
                "config": any(r["config"] for r in recs),
                "in_file": any(r["call"] in ("ngx_conf_log_error", "return") for r in recs),
                "directives": directives,
                "docs": [docs_url(d, _defining_module(d, directive_modules[d], modules, area)) for d in directives],
                "anchor": pattern.anchor if pattern else None,
                "literal_chars": pattern.literal_chars if pattern else 0,
                "pattern": pattern.regex if pattern else None,
            }
        )
    messages.sort(key=lambda m: (m["source"].split(":")[0], int(m["source"].split(":")[1]), m["format"]))
    counts = {lvl: sum(1 for m in messages if m["level"] == lvl) for lvl in KEPT_LEVELS}
    return {
        "nginx": source["nginx"],
        "built_from": SOURCE_FILE,
        "messages_total": len(messages),
        "with_pattern": sum(1 for m in messages if m["pattern"]),
        "by_level": counts,
        "messages": messages,
    }


def source_data(extraction: Extraction, release: str, commit: str) -> dict[str, Any]:
    """``source.json`` content for an extraction of the given release."""
    return {
        "nginx": {"repository": "https://github.com/nginx/nginx", "release": release, "commit": commit},
        "extracted_by": "bot/knowledge/catalog/extract.py",
        "skipped_calls": extraction.skipped,
        "records": [r.to_dict() for r in extraction.records],
        "directives": extraction.directives,
    }


def dumps(data: dict[str, Any]) -> str:
    """JSON with one list item (record, message) per line: stable, diffable, fast to load."""
    lines = ["{"]
    keys = list(data)
    for n, key in enumerate(keys):
        value = data[key]
        comma = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {json.dumps(key)}: [")
            lines += [
                f"    {json.dumps(item, ensure_ascii=False)}{',' if i < len(value) - 1 else ''}"
                for i, item in enumerate(value)
            ]
            lines.append(f"  ]{comma}")
        elif isinstance(value, dict) and value and key == "directives":
            lines.append(f"  {json.dumps(key)}: {{")
            items = list(value.items())
            lines += [
                f"    {json.dumps(k)}: {json.dumps(v)}{',' if i < len(items) - 1 else ''}"
                for i, (k, v) in enumerate(items)
            ]
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(directory: Path, source: dict[str, Any]) -> dict[str, Any]:
    """Write ``source.json`` and the ``messages.json`` built from it; returns the latter."""
    directory.mkdir(parents=True, exist_ok=True)
    messages = build_messages(source)
    (directory / SOURCE_FILE).write_text(dumps(source), encoding="utf-8")
    (directory / MESSAGES_FILE).write_text(dumps(messages), encoding="utf-8")
    return messages
