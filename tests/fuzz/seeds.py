"""Real inputs the fuzzer mutates: log lines, ``nginx -T`` dumps, limits tables, ``ps`` output.

All from the repository (examples, test fixtures, the KB's own example lines), so a fresh
clone fuzzes the same seeds as a developer's machine.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _lines_from_yaml(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return [str(item["line"]) for item in data if isinstance(item, dict) and "line" in item]
    return []


def load_seeds() -> dict[str, list[str]]:
    """Seeds by kind: ``line`` (one log line), ``text`` (a whole paste or file)."""
    lines: list[str] = []
    for path in sorted((ROOT / "kb" / "errors").glob("*.yaml")):
        entry = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        lines += [str(e["line"]) for e in entry.get("examples") or [] if isinstance(e, dict) and "line" in e]
    for name in ("loglines-dev.yaml", "loglines-variants.yaml"):
        if (ROOT / "tests" / "data" / name).is_file():
            lines += _lines_from_yaml(ROOT / "tests" / "data" / name)
    texts: list[str] = []
    for folder in ("examples", "tests/data/evidence", "tests/data/nginx-T"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in ("", ".txt", ".log") and path.stat().st_size < 200_000:
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return {"line": sorted(set(lines)), "text": texts}
