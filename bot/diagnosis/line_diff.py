"""A unified diff for files outside the ``nginx -T`` dump (php-fpm pool files), from single lines.

Only the lines ``grep -Hn`` showed are known, so hunks carry no context: ``@@ -127 +127 @@``
replaces line 127, ``@@ -41,0 +42 @@`` inserts after line 41. GNU ``patch -p0`` applies such
hunks exactly where they say (it refuses when the line there differs).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.diagnosis.edits import header_path


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace ``old`` at ``line`` with ``new``, or (``old`` None) insert ``new`` after ``line``."""

    file: str
    line: int
    old: str | None
    new: str


def line_diff(edits: list[LineEdit]) -> str:
    """One section per file, hunks in line order, no context lines."""
    out: list[str] = []
    files: dict[str, list[LineEdit]] = {}
    for e in edits:
        files.setdefault(e.file, []).append(e)
    for path, file_edits in files.items():
        name = header_path(path)
        out.append(f"--- {name}\n+++ {name}\n")
        shift = 0
        seen: set[tuple[int, bool]] = set()
        for e in sorted(file_edits, key=lambda x: (x.line, x.old is None)):
            if (e.line, e.old is None) in seen:
                continue
            seen.add((e.line, e.old is None))
            if e.old is None:
                out.append(f"@@ -{e.line},0 +{e.line + shift + 1} @@\n+{e.new}\n")
                shift += 1
            else:
                out.append(f"@@ -{e.line} +{e.line + shift} @@\n-{e.old}\n+{e.new}\n")
    return "".join(out)
