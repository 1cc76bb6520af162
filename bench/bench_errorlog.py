"""Benchmark: `nginx-triage diagnose --format json` on a generated error log, against
`grep -cE` over the same file with the KB's literal anchors, in the same run.

Reports medians of several runs, the ratio to grep, and the peak RSS of the diagnose
process at several file sizes (it must stay flat: the log is streamed, never loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen_errorlog import generate  # noqa: E402
from bot.knowledge.loader import load_kb  # noqa: E402
from bot.matching.matcher import Matcher  # noqa: E402

MAX_RATIO = 4.0
MAX_RSS_MB = 150.0


def run(cmd: list[str]) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MB of exactly this child, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return took, usage.ru_maxrss / 1024.0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--cli", default=str(ROOT / ".venv" / "bin" / "nginx-triage"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    anchors = Matcher(load_kb()).anchors
    pattern = "|".join(re.sub(r"([][.^$*+?(){}|\\])", r"\\\1", a) for a in anchors)
    sizes = sorted({args.lines // 4, args.lines})
    report: dict[str, object] = {"anchors": len(anchors), "runs": args.repeat, "sizes": {}}
    ok = True
    rss_by_size = {}
    for n in sizes:
        path = args.out / f"error-{n}.log"
        if not path.exists():
            generate(path, n)
        mb = path.stat().st_size / 1e6
        grep_t, diag_t, diag_rss = [], [], []
        grep_count = b""
        for _ in range(args.repeat):
            t, _rss, grep_count = run(["grep", "-cE", pattern, str(path)])
            grep_t.append(t)
            t, rss, out = run([args.cli, "diagnose", "--format", "json", str(path)])
            diag_t.append(t)
            diag_rss.append(rss)
        matched = sum(m["count"] for m in json.loads(out)["matches"])
        g, d = statistics.median(grep_t), statistics.median(diag_t)
        rss = max(diag_rss)
        rss_by_size[n] = rss
        row = {
            "file_mb": round(mb, 1),
            "grep_median_s": round(g, 3),
            "diagnose_median_s": round(d, 3),
            "ratio": round(d / g, 2),
            "peak_rss_mb": round(rss, 1),
            "grep_count": int(grep_count.strip() or 0),
            "diagnose_matched": matched,
        }
        report["sizes"][str(n)] = row  # type: ignore[index]
        print(
            f"{n:>9} lines {mb:7.1f} MB  grep {g:6.3f}s  diagnose {d:6.3f}s  "
            f"ratio {d / g:5.2f}  peak RSS {rss:6.1f} MB  matched {matched} (grep {row['grep_count']})"
        )
    big = report["sizes"][str(sizes[-1])]  # type: ignore[index]
    growth = rss_by_size[sizes[-1]] - rss_by_size[sizes[0]]
    print(f"RSS growth from {sizes[0]} to {sizes[-1]} lines: {growth:+.1f} MB")
    if big["ratio"] > MAX_RATIO:
        print(f"FAIL ratio {big['ratio']} > {MAX_RATIO}")
        ok = False
    if big["peak_rss_mb"] > MAX_RSS_MB:
        print(f"FAIL peak RSS {big['peak_rss_mb']} MB > {MAX_RSS_MB}")
        ok = False
    (args.out / "errorlog-bench.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
