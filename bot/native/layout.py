"""The constants ``_fastscan.c`` and the Python line path share, in one place.

The C scanner must cut, parse and tally lines exactly as the Python path does, so the
numbers and names both use come from Python: ``MAX_LINE_BYTES`` (``bot.evidence.reading``),
``MAX_LINE_CHARS`` and ``LEVELS`` (``bot.evidence.errorlog``) and the context kinds below.
``hatch_build.py`` runs this file as a script to write ``_fastscan_layout.h`` into the C
build (so does ``make fuzz-native``); the module exposes the values it was built with and
``tests/unit/test_native_layout.py`` checks a built module against the Python ones.

This file is read at build time without importing the package: standard library only, and
the evidence constants are read from their modules' source with ``ast``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYOUT_VERSION = 1
"""Bump when the meaning of a shared constant or the export tuple layout changes."""

CTX_KINDS = ("client", "server", "upstream", "host")
"""Context value kinds 1..4 of the scanner (0 is the pid), in ``, client: ...`` order."""

_FROM_SOURCE = {
    "MAX_LINE_BYTES": "bot/evidence/reading.py",
    "MAX_LINE_CHARS": "bot/evidence/errorlog.py",
    "LEVELS": "bot/evidence/errorlog.py",
}

ROOT = Path(__file__).resolve().parents[2]


def _literal(path: Path, name: str) -> object:
    """The literal value of the top-level assignment ``name = ...`` in ``path``."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            return ast.literal_eval(value)
    raise LookupError(f"{path}: no top-level literal {name}")


def shared(root: Path = ROOT) -> dict[str, object]:
    """Every shared constant, by the name C sees it under (``NT_<name>``)."""
    values = {name: _literal(root / rel, name) for name, rel in _FROM_SOURCE.items()}
    values["CTX_KINDS"] = CTX_KINDS
    values["LAYOUT_VERSION"] = LAYOUT_VERSION
    return values


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_header(root: Path = ROOT) -> str:
    """``_fastscan_layout.h``: the shared constants as C ``#define``s."""
    v = shared(root)
    levels = [str(x) for x in v["LEVELS"]]  # type: ignore[attr-defined]
    kinds = [f"{k}: " for k in CTX_KINDS]
    return "\n".join(
        [
            "/* Generated from bot/native/layout.py by hatch_build.py: do not edit. */",
            "#ifndef NT_FASTSCAN_LAYOUT_H",
            "#define NT_FASTSCAN_LAYOUT_H",
            f"#define NT_LAYOUT_VERSION {v['LAYOUT_VERSION']}",
            f"#define NT_MAX_LINE_BYTES {v['MAX_LINE_BYTES']}",
            f"#define NT_MAX_LINE_CHARS {v['MAX_LINE_CHARS']}",
            f"#define NT_NLEVELS {len(levels)}",
            "#define NT_LEVEL_NAMES {" + ", ".join(_c_string(x) for x in levels) + "}",
            f"#define NT_NCTX {len(kinds)}",
            "#define NT_CTX_KEYS {" + ", ".join(_c_string(k) for k in kinds) + "}",
            "#define NT_CTX_LENS {" + ", ".join(str(len(k.encode())) for k in kinds) + "}",
            "#endif",
            "",
        ]
    )


if __name__ == "__main__":  # python bot/native/layout.py OUT.h
    Path(sys.argv[1]).write_text(c_header(), encoding="utf-8")
