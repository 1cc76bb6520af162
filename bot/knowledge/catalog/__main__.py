"""Regenerate ``kb/catalog/`` from an nginx source tree.

    python -m bot.knowledge.catalog /path/to/nginx --release release-1.31.4 --commit <sha>

The tree is a checkout (or ``git archive``) of the nginx/nginx repository at the release
tag; the release and commit are written into the data so that everyone knows what it says.
Only the extracted data is written: no nginx source is copied into the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.knowledge.catalog.build import source_data, write
from bot.knowledge.catalog.extract import extract, read_tree
from bot.knowledge.loader import builtin_kb_dir


def main(argv: list[str] | None = None) -> int:
    """Command line: read SRC, write ``kb/catalog`` (or ``--out``), print the counts."""
    ap = argparse.ArgumentParser(prog="python -m bot.knowledge.catalog", description=__doc__)
    ap.add_argument("source", type=Path, help="nginx source tree (the directory holding src/)")
    ap.add_argument("--release", required=True, help="release tag of that tree, e.g. release-1.31.4")
    ap.add_argument("--commit", required=True, help="commit id of that tag")
    ap.add_argument("--out", type=Path, default=None, help="output directory (default: kb/catalog)")
    args = ap.parse_args(argv)
    if not (args.source / "src" / "core" / "nginx.c").is_file():
        print(f"{args.source}: not an nginx source tree (no src/core/nginx.c)", file=sys.stderr)
        return 1
    extraction = extract(read_tree(args.source))
    out = args.out or builtin_kb_dir() / "catalog"
    messages = write(out, source_data(extraction, args.release, args.commit))
    print(
        f"{len(extraction.records)} records (logging calls, strings handlers return), "
        f"{messages['messages_total']} messages "
        f"({messages['with_pattern']} with a pattern), {extraction.skipped} calls with a computed format; "
        f"by level: {messages['by_level']} -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
