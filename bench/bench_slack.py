"""Benchmark: the Slack bot's HTTP front door under a burst of signed events.

50 concurrent signed ``app_mention`` events, each carrying a 100-line error-log paste, hit
the real app (Bolt + real engine + SQLite store) on 127.0.0.1; a fake Slack Web API records
the replies. Measured: ack latency (request sent -> HTTP response) p50/p99 and the time
from request to the reply posted in the thread, for the burst and for one paste at a time.

Targets: ack p99 < 100 ms; reply posted median < 1 s for a 100-line paste (one at a time).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, sign  # noqa: E402
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(fake: FakeSlack, db: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``serve`` in its own process (as deployed), HTTP mode, against the fake Slack."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake.base_url, "DATABASE_URL": f"sqlite:///{db}"})
    code = f"import sys; from bot.slack.serve import serve; sys.exit(serve({port}, '127.0.0.1'))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("serve did not become ready within 60 s")


def send(port: int, fake: FakeSlack, root: str, paste: str) -> tuple[float, float]:
    """Post one signed event; (ack seconds, seconds until the first reply reached Slack)."""
    body = event_body(mention(paste, root), f"Ev{root}").encode()
    headers = {"Content-Type": "application/json", **sign(body)}
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--sequential", type=int, default=10, help="single pastes, one at a time, for the reply median")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    opts = ap.parse_args()

    paste = paste_100_lines()
    fake = FakeSlack().start()
    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        proc, port = start_serve(fake, Path(tmp) / "bench.db")
        try:
            send(port, fake, "1900000000.000001", paste)  # warm up: auth.test, schema, caches

            barrier = threading.Barrier(opts.events)

            def burst_one(i: int) -> tuple[float, float]:
                barrier.wait(timeout=30)
                return send(port, fake, f"1900000001.{i:06d}", paste)

            with ThreadPoolExecutor(max_workers=opts.events) as pool:
                burst = list(pool.map(burst_one, range(opts.events)))
            sequential = []
            for i in range(opts.sequential):
                sequential.append(send(port, fake, f"1900000002.{i:06d}", paste))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            fake.stop()

    acks = [a for a, _ in burst] + [a for a, _ in sequential]
    burst_replies = [r for _, r in burst]
    single_replies = [r for _, r in sequential]
    ack_p50, ack_p99 = percentile(acks, 50), percentile(acks, 99)
    reply_median = statistics.median(single_replies)
    ok = ack_p99 < MAX_ACK_P99_S and reply_median < MAX_REPLY_MEDIAN_S
    result = {
        "events_concurrent": opts.events, "paste_lines": 100, "ack_p50_ms": round(ack_p50 * 1000, 1),
        "ack_p99_ms": round(ack_p99 * 1000, 1), "ack_max_ms": round(max(acks) * 1000, 1),
        "reply_median_s": round(reply_median, 3), "reply_burst_median_s": round(statistics.median(burst_replies), 3),
        "reply_burst_max_s": round(max(burst_replies), 3),
        "targets": {"ack_p99_ms": MAX_ACK_P99_S * 1000, "reply_median_s": MAX_REPLY_MEDIAN_S}, "ok": ok,
    }
    if opts.json:
        print(json.dumps(result))
    else:
        print(f"{opts.events} concurrent signed app_mention events, 100-line paste each "
              f"(+{opts.sequential} one at a time)")
        print(f"  ack latency      p50 {result['ack_p50_ms']} ms, p99 {result['ack_p99_ms']} ms, "
              f"max {result['ack_max_ms']} ms   (target p99 < {MAX_ACK_P99_S * 1000:.0f} ms)")
        print(f"  reply posted     median {result['reply_median_s']} s one at a time   "
              f"(target < {MAX_REPLY_MEDIAN_S} s)")
        print(f"  reply posted     burst of {opts.events}: median {result['reply_burst_median_s']} s, "
              f"max {result['reply_burst_max_s']} s (queued behind the worker pool)")
        print("  " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
