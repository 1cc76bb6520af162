"""Benchmark: ``nginx-triage diagnose --format json`` of a big generated error log, as a user
runs it (the installed console script, a whole process: start-up, reading, output), paired
run by run with ``grep -cE`` of the ten common patterns below over the same file.

The yardstick: what someone does first with a big log is count the usual suspects with
grep. ``TEN_PATTERNS`` are the ten messages most often asked about (issue 11); grep's DFA
does no parsing, grouping or diagnosis, so staying within a small factor of it is the aim.
(Until issue 11 this bench grepped every KB anchor, a slower grep and a kinder ratio.)

Also reported: the in-process time of the same work (KB and matcher ready, no start-up,
no output) at the largest size, and the peak RSS of the diagnose process (its workers
included) at 250k and 1M lines: it must stay flat, the log is streamed, never loaded.
Medians of ``--runs`` paired runs (at least 5), all in the same run as the baselines.

Targets: whole process within 3x grep -cE at 1M lines; RSS growth < 10 MB from 250k to 1M.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen_errorlog import generate  # noqa: E402
from bench.timing import bench_env, paired  # noqa: E402

TEN_PATTERNS = (
    r"upstream timed out",
    r"connect\(\) failed",
    r"no live upstreams",
    r"worker_connections are not enough",
    r"Too many open files",
    r"upstream prematurely closed",
    r"SSL_do_handshake\(\) failed",
    r"client intended to send too large body",
    r"limiting requests",
    r'open\(\) ".*" failed',
)
"""The ten common patterns of the grep yardstick (``grep -cE`` joins them with ``|``)."""

MAX_RATIO = 3.0
MAX_RSS_GROWTH_MB = 10.0


def in_process_seconds(path: Path, runs: int) -> float:
    """Median seconds of collect + diagnose + JSON in this process (KB and matcher ready)."""
    from bot.cli.catalog_report import unmatched_details
    from bot.cli.intake import collect
    from bot.cli.redacting import IntakeRedaction
    from bot.diagnosis import diagnose_evidence
    from bot.knowledge.kb_cache import cached_kb
    from bot.matching import Matcher

    kb = cached_kb()
    matcher = Matcher(kb)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        redaction = IntakeRedaction()
        diagnosis = diagnose_evidence(collect([path], matcher, None, redaction), kb, None)
        out = diagnosis.to_json()
        out["unmatched"] = unmatched_details(diagnosis.unmatched_samples, matcher)
        json.dumps(out)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--cli", default=str(ROOT / ".venv" / "bin" / "nginx-triage"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = bench_env()

    pattern = "|".join(TEN_PATTERNS)
    sizes = sorted({args.lines // 4, args.lines})
    report: dict[str, object] = {"patterns": list(TEN_PATTERNS), "runs": args.runs, "sizes": {}}
    rss_by_size: dict[int, float] = {}
    for n in sizes:
        path = args.out / f"error-{n}.log"
        if not path.exists():
            generate(path, n)
        mb = path.stat().st_size / 1e6
        diag, grep, ratios = paired(
            [args.cli, "diagnose", "--format", "json", str(path)],
            ["grep", "-cE", pattern, str(path)],
            args.runs,
            env,
            ok_b=(0, 1),
        )
        matched = sum(m["count"] for m in json.loads(diag.stdout)["matches"])
        rss_by_size[n] = diag.peak_mb
        row = {
            "file_mb": round(mb, 1),
            "grep_median_s": round(grep.median, 3),
            "diagnose_median_s": round(diag.median, 3),
            "ratio_median": round(statistics.median(ratios), 2),
            "ratio_min": round(min(ratios), 2),
            "ratio_max": round(max(ratios), 2),
            "peak_rss_mb": round(diag.peak_mb, 1),
            "grep_count": int(grep.stdout.strip() or 0),
            "diagnose_matched": matched,
        }
        report["sizes"][str(n)] = row  # type: ignore[index]
        print(
            f"{n:>9} lines {mb:6.1f} MB  grep -cE (10 patterns) {grep.median:6.3f} s  "
            f"nginx-triage diagnose {diag.median:6.3f} s  ratio {row['ratio_median']:4.2f}x "
            f"(pairs {row['ratio_min']}-{row['ratio_max']})  peak RSS {diag.peak_mb:5.1f} MB  "
            f"matched {matched} (grep {row['grep_count']})",
            flush=True,
        )
    big = sizes[-1]
    inproc = in_process_seconds(args.out / f"error-{big}.log", args.runs)
    growth = rss_by_size[big] - rss_by_size[sizes[0]]
    ratio = report["sizes"][str(big)]["ratio_median"]  # type: ignore[index]
    report["in_process_s"] = round(inproc, 3)
    report["rss_growth_mb"] = round(growth, 1)
    print(f"in-process at {big} lines (KB ready, no start-up or output): {inproc:.3f} s (median of {args.runs})")
    print(
        f"peak RSS {rss_by_size[sizes[0]]:.1f} MB at {sizes[0]} lines, "
        f"{rss_by_size[big]:.1f} MB at {big}: {growth:+.1f} MB"
    )
    ok = ratio <= MAX_RATIO and growth < MAX_RSS_GROWTH_MB
    print(
        f"targets: whole process <= {MAX_RATIO:.0f}x grep -cE ({ratio}x), RSS growth < {MAX_RSS_GROWTH_MB:.0f} MB "
        f"({growth:+.1f} MB): {'PASS' if ok else 'MISSED'}"
    )
    report["ok"] = ok
    (args.out / "errorlog-bench.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
