"""Benchmark: the Slack bot's HTTP front door under a burst of signed events.

50 concurrent signed ``app_mention`` events, each carrying a 100-line error-log paste, hit
the real app (Bolt + real engine + SQLite store) on 127.0.0.1; a fake Slack Web API records
the replies. Measured: ack latency (request sent -> HTTP response) p50/p99 and the time
from request to the reply posted in the thread, for the burst and for one paste at a time.

Targets: ack p99 < 100 ms; reply posted median < 1 s for a 100-line paste (one at a time).

``serve`` runs turns in worker processes (NGINX_TRIAGE_TURNS=processes, the default); set
NGINX_TRIAGE_TURNS=threads to measure the old in-process mode. ``--runs N`` repeats the whole
measurement with a fresh ``serve`` each time and reports the median of each number. The ack
latency is measured by the client (what Slack sees: connect, send, response) and, from the
server's own ``nginx_triage_ack_seconds`` histogram on /metrics, as the bucket bound that
99% of the server-side ack times fall under (request parsed -> response written).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_slack import FakeSlack, event_body, sign  # noqa: E402
from tests.fakes.serve_harness import ServeProcess, http_env  # noqa: E402
from tests.fakes.slack_harness import CHANNEL, mention  # noqa: E402

MAX_ACK_P99_S = 0.100
MAX_REPLY_MEDIAN_S = 1.0
REPLY_TIMEOUT_S = 120.0


def paste_100_lines() -> str:
    """100 real error-log lines (the example alert, repeated as needed)."""
    lines = [ln for ln in (ROOT / "examples" / "worker-connections" / "error.log").read_text().splitlines() if ln]
    out: list[str] = []
    while len(out) < 100:
        out.extend(lines)
    return "\n".join(out[:100])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def start_serve(fake: FakeSlack, tmp: Path) -> ServeProcess:
    """``serve`` in its own process (as deployed), HTTP mode, against the fake Slack, ready.
    NGINX_TRIAGE_* settings of this shell (e.g. NGINX_TRIAGE_TURNS=threads) are passed on."""
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    ours = {k: v for k, v in os.environ.items() if k.startswith("NGINX_TRIAGE_")}
    serve = ServeProcess.start(http_env(fake, database_url, **ours), tmp, "bench-serve")
    try:
        serve.wait_ready(60)
    except AssertionError as exc:
        serve.kill()
        raise SystemExit(f"serve did not become ready within 60 s: {exc}") from None
    return serve


def signed(root: str, paste: str) -> tuple[bytes, dict[str, str]]:
    """A signed app_mention delivery (built before the clock starts)."""
    body = event_body(mention(paste, root), f"Ev{root}").encode()
    return body, {"Content-Type": "application/json", **sign(body)}


def send(
    port: int, fake: FakeSlack, root: str, paste: str, request: tuple[bytes, dict[str, str]] | None = None
) -> tuple[float, float]:
    """Post one signed event; (ack seconds, seconds until the first reply reached Slack)."""
    body, headers = request or signed(root, paste)
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/slack/events", body=body, headers=headers)
    status = conn.getresponse().status
    acked = time.monotonic() - started
    conn.close()
    assert status == 200, status
    fake.wait_for(lambda: fake.thread_messages(CHANNEL, root), REPLY_TIMEOUT_S, f"reply in {root}")
    return acked, _posted_at(fake, root) - started


def _posted_at(fake: FakeSlack, root: str) -> float:
    """When the first reply in the thread reached Slack (the fake records arrival times)."""
    posts = [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == root]
    return posts[0].at


def ack_buckets(port: int) -> dict[float, float]:
    """The server's cumulative ``nginx_triage_ack_seconds`` buckets: upper bound -> count."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith("nginx_triage_ack_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The smallest bucket bound under which a fraction ``q`` of the new observations fall."""
    deltas = {le: after.get(le, 0.0) - before.get(le, 0.0) for le in after}
    total = deltas.get(float("inf"), 0.0)
    for le in sorted(deltas):
        if total and deltas[le] >= q * total:
            return le
    return float("inf")


def run_once(opts: argparse.Namespace, paste: str) -> dict[str, float]:
    """One fresh ``serve``: the burst, then pastes one at a time; the numbers of this run."""
    fake = FakeSlack().start()
    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        serve = start_serve(fake, Path(tmp))
        port = serve.port
        try:
            send(port, fake, "1900000000.000001", paste)  # warm up: auth.test, schema, caches
            requests = [signed(f"1900000001.{i:06d}", paste) for i in range(opts.events)]
            barrier = threading.Barrier(opts.events)

            def burst_one(i: int) -> tuple[float, float]:
                barrier.wait(timeout=30)
                return send(port, fake, f"1900000001.{i:06d}", paste, requests[i])

            before = ack_buckets(port)
            with ThreadPoolExecutor(max_workers=opts.events) as pool:
                burst = list(pool.map(burst_one, range(opts.events)))
            server_p99 = bucket_quantile(before, ack_buckets(port), 0.99)
            sequential = []
            for i in range(opts.sequential):
                sequential.append(send(port, fake, f"1900000002.{i:06d}", paste))
        finally:
            serve.terminate()
            fake.stop()

    acks = [a for a, _ in burst] + [a for a, _ in sequential]
    burst_replies = [r for _, r in burst]
    return {
        "ack_p50_ms": round(percentile(acks, 50) * 1000, 1),
        "ack_p99_ms": round(percentile(acks, 99) * 1000, 1),
        "ack_max_ms": round(max(acks) * 1000, 1),
        "server_ack_p99_le_ms": round(server_p99 * 1000, 1),
        "reply_median_s": round(statistics.median([r for _, r in sequential]), 3),
        "reply_burst_median_s": round(statistics.median(burst_replies), 3),
        "reply_burst_max_s": round(max(burst_replies), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--sequential", type=int, default=10, help="single pastes, one at a time, for the reply median")
    ap.add_argument("--runs", type=int, default=1, help="repeat with a fresh serve; report the medians")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    opts = ap.parse_args()

    paste = paste_100_lines()
    runs = []
    for i in range(max(1, opts.runs)):
        runs.append(run_once(opts, paste))
        if opts.runs > 1 and not opts.json:
            print(f"  run {i + 1}: " + ", ".join(f"{k} {v}" for k, v in runs[-1].items()), flush=True)
    result: dict[str, object] = {
        "events_concurrent": opts.events,
        "paste_lines": 100,
        "runs": len(runs),
        "turns": os.environ.get("NGINX_TRIAGE_TURNS", "processes"),
        **{key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]},
        "targets": {"ack_p99_ms": MAX_ACK_P99_S * 1000, "reply_median_s": MAX_REPLY_MEDIAN_S},
    }
    ok = float(result["ack_p99_ms"]) < MAX_ACK_P99_S * 1000 and float(result["reply_median_s"]) < MAX_REPLY_MEDIAN_S
    result["ok"] = ok
    if opts.json:
        print(json.dumps(result))
    else:
        median = "median of " + str(len(runs)) + " runs: " if len(runs) > 1 else ""
        print(
            f"{opts.events} concurrent signed app_mention events, 100-line paste each "
            f"(+{opts.sequential} one at a time), turns in {result['turns']}"
        )
        print(
            f"  ack latency      {median}p50 {result['ack_p50_ms']} ms, p99 {result['ack_p99_ms']} ms, "
            f"max {result['ack_max_ms']} ms   (target p99 < {MAX_ACK_P99_S * 1000:.0f} ms)"
        )
        print(f"  ack, server side {median}p99 <= {result['server_ack_p99_le_ms']} ms (histogram bucket)")
        print(
            f"  reply posted     {median}median {result['reply_median_s']} s one at a time   "
            f"(target < {MAX_REPLY_MEDIAN_S} s)"
        )
        print(
            f"  reply posted     burst of {opts.events}: median {result['reply_burst_median_s']} s, "
            f"max {result['reply_burst_max_s']} s (queued behind the workers)"
        )
        print("  " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
