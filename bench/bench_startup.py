"""Benchmark: everyday calls as a user runs them, against the same venv's bare interpreter.

The installed console script, a whole process each time: ``nginx-triage diagnose --format
json`` of a two-line paste, ``nginx-triage diagnose`` (text) of the same, and ``nginx-triage
ask "..."``, each paired run by run with ``python -c pass`` of the same venv (A B A B ...),
after one warm-up each (which writes the user's KB and template caches, and the bytecode).

Target (issue 11): two-line diagnose and ask within 8x the bare interpreter (median of the
paired ratios).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import bench_env, paired  # noqa: E402

MAX_RATIO = 8.0
TWO_LINES = (
    "2026/11/01 10:11:12 [alert] 2719#2719: 1024 worker_connections are not enough\n"
    "2026/11/01 10:11:13 [crit] 2719#2719: *88 connect() to unix:/run/php/php-fpm.sock failed "
    "(2: No such file or directory) while connecting to upstream, client: 10.0.0.7, server: shop\n"
)
QUESTION = "why does a proxied request use two connections"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--cli", default=str(ROOT / ".venv" / "bin" / "nginx-triage"))
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()
    python = str(Path(opts.cli).parent / "python")
    env = bench_env()
    bare = [python, "-c", "pass"]
    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        paste = Path(tmp) / "two-lines.log"
        paste.write_text(TWO_LINES)
        cases = {
            "diagnose --format json (2 lines)": [opts.cli, "diagnose", "--format", "json", str(paste)],
            "diagnose (2 lines, text)": [opts.cli, "diagnose", str(paste)],
            "ask": [opts.cli, "ask", QUESTION],
        }
        report: dict[str, dict[str, float]] = {}
        for name, cmd in cases.items():
            a, b, ratios = paired(cmd, bare, opts.runs, env)
            report[name] = {
                "median_s": round(a.median, 3),
                "bare_median_s": round(b.median, 3),
                "ratio_median": round(statistics.median(ratios), 1),
                "ratio_min": round(min(ratios), 1),
                "ratio_max": round(max(ratios), 1),
            }
    ok = all(r["ratio_median"] <= MAX_RATIO for n, r in report.items() if n != "diagnose (2 lines, text)")
    if opts.json:
        print(json.dumps({"runs": opts.runs, "cases": report, "target_ratio": MAX_RATIO, "ok": ok}))
    else:
        print(f"start-up, whole process, paired with `python -c pass` of the same venv, median of {opts.runs} pairs")
        for name, r in report.items():
            print(
                f"  {name:34} {r['median_s']:6.3f} s   bare {r['bare_median_s']:6.3f} s   "
                f"ratio {r['ratio_median']:5.1f}x (pairs {r['ratio_min']}-{r['ratio_max']}x)"
            )
        print(f"  target: two-line diagnose (json) and ask <= {MAX_RATIO:.0f}x bare: {'PASS' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
