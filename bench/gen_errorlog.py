"""Generate a large NGINX error log of mixed real message shapes, for benchmarks.

Shapes come from the knowledge base's own examples (real lines from public issues and a
real nginx), re-stamped with advancing times, a few worker pids and fresh connection
numbers, plus routine notices and wrapped lines, so the file looks like a busy
server's log rather than one line repeated. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.evidence.errorlog import parse_line
from bot.knowledge.loader import load_kb

ROUTINE = [
    "signal 1 (SIGHUP) received from 2231, reconfiguring",
    'using the "epoll" event method',
    "start worker process 4242",
    "gracefully shutting down",
]


def shapes() -> list[str]:
    """Messages (text after the prefix) of every KB example, plus routine notices."""
    kb = load_kb()
    out = []
    for entry in kb.errors.values():
        for ex in entry.examples:
            msg = parse_line(ex.line).message
            if len(msg) > 20:
                out.append(msg)
    return out + ROUTINE


def generate(path: Path, lines: int, seed: int = 7) -> None:
    """Write ``lines`` lines to ``path``."""
    rnd = random.Random(seed)
    msgs = shapes()
    weights = [5 if "upstream" in m or "worker_connections" in m else 1 for m in msgs]
    pool = rnd.choices(msgs, weights=weights, k=4096)
    t = datetime(2026, 11, 1, 0, 0, 0)
    pids = [2718, 2719, 2720, 2721]
    cid = 1000
    levels = ["error", "alert", "crit", "warn", "notice"]
    with path.open("w", encoding="utf-8") as f:
        buf = []
        for i in range(lines):
            if i % 7 == 0:
                t += timedelta(seconds=1)
            cid += rnd.randint(1, 9)
            msg = pool[i % 4096]
            stamp = t.strftime("%Y/%m/%d %H:%M:%S")
            line = f"{stamp} [{levels[i % 5]}] {pids[i % 4]}#{pids[i % 4]}: *{cid} {msg}"
            if i % 50 == 0:
                line = f"nginx-1  | {line}"
            buf.append(line)
            if len(buf) >= 10000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("path", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    generate(args.path, args.lines, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
