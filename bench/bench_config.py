"""Benchmark: ``parse_dump`` + extraction on a generated ``nginx -T`` dump with 10,000 server
blocks, against crossplane's own ``crossplane.parse`` of the same tree on disk, in the same run.

Targets: ours under 2 s and within 1.5x of crossplane (medians of 5). We add the dump split,
temporary files, the include walk and the extraction on top of crossplane's parse, so the
ratio shows what that costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import crossplane  # noqa: E402

from bot.cli.parallel import process_map  # noqa: E402
from bot.diagnosis import Collected, diagnose_evidence  # noqa: E402
from bot.evidence import parse_dump  # noqa: E402
from bot.knowledge.loader import load_kb  # noqa: E402
from bot.matching import Matcher  # noqa: E402

MAX_SECONDS = 2.0
MAX_RATIO = 1.5


def generate_tree(root: Path, servers: int, per_file: int, upstreams: int) -> dict[str, str]:
    """Write the config tree under ``root``; return path -> content in nginx's reading order."""
    files: dict[str, str] = {}
    main = root / "nginx.conf"
    files[str(main)] = (
        "user www-data;\nworker_processes auto;\nworker_rlimit_nofile 65535;\npid /run/nginx.pid;\n\n"
        "events {\n    worker_connections 16384;\n}\n\n"
        "http {\n    keepalive_timeout 65;\n    proxy_read_timeout 30s;\n"
        f"    include {root}/upstreams.conf;\n    include {root}/sites/*.conf;\n}}\n"
    )
    files[str(root / "upstreams.conf")] = "".join(
        f"upstream app{u} {{\n    server 10.0.{u // 250}.{u % 250 + 1}:8080 max_fails=3 fail_timeout=10s;\n"
        f"    server 10.1.{u // 250}.{u % 250 + 1}:8080 backup;\n    keepalive 16;\n}}\n\n"
        for u in range(upstreams)
    )
    for f in range((servers + per_file - 1) // per_file):
        parts = []
        for s in range(f * per_file, min(servers, (f + 1) * per_file)):
            u = s % upstreams
            parts.append(
                f"server {{\n    listen {8000 + s % 1000}{' ssl http2' if s % 3 == 0 else ''};\n"
                f"    server_name site{s}.example.com www.site{s}.example.com;\n"
                f"    location / {{\n        proxy_pass http://app{u};\n        proxy_set_header Host $host;\n    }}\n"
                f"    location /api/ {{\n        proxy_pass http://app{(u + 1) % upstreams}/v1/;\n"
                f"        proxy_read_timeout 120s;\n    }}\n"
                f"    location /static/ {{\n        root /var/www/site{s};\n        expires 1d;\n    }}\n}}\n\n"
            )
        files[str(root / "sites" / f"site{f:04d}.conf")] = "".join(parts)
    for path, content in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    return files


def as_dump(files: dict[str, str]) -> str:
    """What ``nginx -T`` prints for these files (NGINX-FACTS 4), with its stderr verdicts first."""
    main = next(iter(files))
    head = f"nginx: the configuration file {main} syntax is ok\nnginx: configuration file {main} test is successful\n"
    return head + "".join(f"# configuration file {path}:\n{content}\n" for path, content in files.items())


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--servers", type=int, default=10_000)
    ap.add_argument("--per-file", type=int, default=100)
    ap.add_argument("--upstreams", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        files = generate_tree(Path(tmp), opts.servers, opts.per_file, opts.upstreams)
        dump = as_dump(files)
        main_file = next(iter(files))

        def ours() -> None:
            config = parse_dump(dump, map_files=process_map)  # as the CLI parses it
            # touch every derived view the diagnosis reads
            _ = (
                config.worker_connections,
                config.worker_rlimit_nofile,
                config.timeouts,
                config.limit_req,
                config.http2_enabled,
                config.stream_proxy,
            )
            assert len(config.listens) == opts.servers and not config.errors

        alert = "2024/03/02 10:11:12 [alert] 2719#2719: 16384 worker_connections are not enough\n"
        kb = load_kb()
        matcher = Matcher(kb)

        def diagnosed() -> None:
            ev = Collected(map_files=process_map)
            ev.add_text(alert + dump, matcher)
            d = diagnose_evidence(ev, kb, 20000)
            assert d.diff and d.recommendations and not d.problems, d.problems

        def theirs() -> None:
            payload = crossplane.parse(main_file, catch_errors=True, strict=False, check_ctx=False, check_args=False)
            assert payload["status"] == "ok"

        ours()  # warm imports and caches for both
        theirs()
        diagnosed()
        ours_s = median_seconds(ours, opts.runs)
        theirs_s = median_seconds(theirs, opts.runs)
        diag_s = median_seconds(diagnosed, opts.runs)
        dump_file = Path(tmp) / "nginx-T.txt"
        dump_file.write_text(alert + dump)
        cli = str(ROOT / ".venv" / "bin" / "nginx-triage")
        cli_s = median_seconds(
            lambda: subprocess.run(
                [cli, "diagnose", "--format", "json", str(dump_file)], capture_output=True, check=True
            ),
            opts.runs,
        )

    ratio = ours_s / theirs_s
    ok = diag_s < MAX_SECONDS and ours_s < MAX_SECONDS and ratio <= MAX_RATIO
    result = {
        "servers": opts.servers,
        "files": len(files),
        "dump_bytes": len(dump.encode()),
        "runs": opts.runs,
        "parse_dump_s": round(ours_s, 3),
        "crossplane_parse_s": round(theirs_s, 3),
        "ratio": round(ratio, 2),
        "sniff_parse_diagnose_s": round(diag_s, 3),
        "cli_wall_s": round(cli_s, 3),
        "targets": {"max_seconds": MAX_SECONDS, "max_ratio": MAX_RATIO},
        "ok": ok,
    }
    if opts.json:
        print(json.dumps(result))
    else:
        print(
            f"{opts.servers} server blocks in {len(files)} files, {result['dump_bytes']:,} bytes, median of {opts.runs}"
        )
        print(f"  parse_dump + extraction : {ours_s:.3f} s   (target < {MAX_SECONDS} s)")
        print(f"  crossplane.parse on disk: {theirs_s:.3f} s")
        print(f"  ratio                   : {ratio:.2f}x (target <= {MAX_RATIO}x)")
        print(f"  sniff + parse + diagnose: {diag_s:.3f} s   (target < {MAX_SECONDS} s; alert + dump as one paste)")
        print(f"  nginx-triage diagnose   : {cli_s:.3f} s   (whole CLI run incl. interpreter start-up, for reference)")
        print(f"  {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
