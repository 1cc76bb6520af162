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
from tests.fakes.slack_harness import CHANNEL, files_entry, mention, thread_message  # noqa: E402

MAX_ACK_P99_S = 0.100
MAX_REPLY_MEDIAN_S = 1.0
MAX_FILE_REPLY_MEDIAN_S = 2.0
FILE_LINES = 10_000
REPLY_TIMEOUT_S = 120.0


def paste_100_lines() -> str:
    """100 real error-log lines (the example alert, repeated as needed)."""
    lines = [ln for ln in (ROOT / "examples" / "worker-connections" / "error.log").read_text().splitlines() if ln]
    out: list[str] = []
    while len(out) < 100:
        out.extend(lines)
    return "\n".join(out[:100])


def file_10k_lines(seed: int = 7) -> bytes:
    """A 10,000-line error log of mixed real shapes (bench/gen_errorlog.py), under Slack's 2 MB file cap."""
    from bench.gen_errorlog import generate

    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        path = Path(tmp) / "error.log"
        generate(path, FILE_LINES * 6, seed)
        lines = [ln for ln in path.read_bytes().splitlines() if len(ln) < 200][:FILE_LINES]
    assert len(lines) == FILE_LINES
    return b"\n".join(lines) + b"\n"


def file_phase(
    port: int, fake: FakeSlack, contents: list[bytes], files: int, paste: str
) -> tuple[list[float], list[float]]:
    """``files`` times: a 10,000-line file shared in a thread the bot is in (``contents`` in
    turn); seconds from the event to the answer in the thread. Meanwhile a signed two-line
    mention every 250 ms in other threads: their ack times (what Slack sees while the big file
    is being read)."""
    root = "1900000003.000001"
    send(port, fake, root, paste)  # the thread the files are shared in
    replies: list[float] = []
    acks: list[float] = []
    for i in range(files):
        file_id = fake.add_file(f"error-{i}.log", contents[i % len(contents)])
        ts = f"1900000003.{100 + i:06d}"
        body = event_body(thread_message("", ts, root, files=[files_entry(file_id, f"error-{i}.log")]), f"EvF{i}")
        before = len([c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == root])
        stop = threading.Event()

        def background(i: int = i, stop: threading.Event = stop) -> None:
            n = 0
            while not stop.is_set() and n < 50:
                other = f"1900000004.{i * 100 + n:06d}"
                req_body, headers = signed(other, "\n".join(paste.splitlines()[:2]))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                started = time.monotonic()
                conn.request("POST", "/slack/events", body=req_body, headers=headers)
                conn.getresponse().read()
                acks.append(time.monotonic() - started)
                conn.close()
                n += 1
                stop.wait(0.25)

        noise = threading.Thread(target=background, daemon=True)
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/slack/events", body=body, headers={"Content-Type": "application/json", **sign(body)})
        assert conn.getresponse().status == 200
        conn.close()
        noise.start()

        def answered(before: int = before) -> list[float]:
            posts = [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == root]
            return [c.at for c in posts[before:]]

        at = fake.wait_for(answered, REPLY_TIMEOUT_S, f"answer to file {i}")[0]
        replies.append(at - started)
        stop.set()
        noise.join(timeout=60)
        fake.wait_quiet(0.3, REPLY_TIMEOUT_S)
    return replies, acks


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


def run_once(opts: argparse.Namespace, paste: str, content: list[bytes]) -> dict[str, float]:
    """One fresh ``serve``: the burst, then pastes one at a time; the numbers of this run."""
    fake = FakeSlack().start()
    with tempfile.TemporaryDirectory(prefix="nginx-triage-bench-") as tmp:
        serve = start_serve(fake, Path(tmp))
        port = serve.port
        try:
            send(port, fake, "1900000000.000001", paste)  # warm up: auth.test, schema, caches
            if opts.files_only:
                file_replies, file_acks = file_phase(port, fake, content, opts.files, paste)
                return file_numbers(file_replies, file_acks)
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
            file_replies, file_acks = file_phase(port, fake, content, opts.files, paste) if opts.files else ([], [])
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
        **(file_numbers(file_replies, file_acks) if file_replies else {}),
    }


def file_numbers(file_replies: list[float], file_acks: list[float]) -> dict[str, float]:
    """The file phase's numbers: seconds from event to answer, and the acks meanwhile."""
    return {
        "file_reply_median_s": round(statistics.median(file_replies), 3),
        "file_reply_max_s": round(max(file_replies), 3),
        "file_ack_p99_ms": round(percentile(file_acks, 99) * 1000, 1) if file_acks else 0.0,
        "file_acks": len(file_acks),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--sequential", type=int, default=10, help="single pastes, one at a time, for the reply median")
    ap.add_argument("--runs", type=int, default=1, help="repeat with a fresh serve; report the medians")
    ap.add_argument("--files", type=int, default=5, help="10,000-line files shared in a thread, one at a time")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    ap.add_argument(
        "--files-only",
        action="store_true",
        help="only the file phase (after one warm-up paste): no burst, no one-at-a-time pastes",
    )
    ap.add_argument(
        "--distinct-files", action="store_true", help="a different generated log for each file (default: the same one)"
    )
    opts = ap.parse_args()
    if opts.files_only and opts.files < 1:
        ap.error("--files-only needs --files >= 1")

    paste = paste_100_lines()
    # The same bytes each time by default (as the figures so far); --distinct-files: a log of
    # its own per upload, so nothing read for one file (e.g. its redaction) serves the next.
    content = [file_10k_lines(7 + i) for i in range(opts.files)] if opts.distinct_files else [file_10k_lines()]
    runs = []
    for i in range(max(1, opts.runs)):
        runs.append(run_once(opts, paste, content))
        if opts.runs > 1 and not opts.json:
            print(f"  run {i + 1}: " + ", ".join(f"{k} {v}" for k, v in runs[-1].items()), flush=True)
    result: dict[str, object] = {
        "events_concurrent": opts.events,
        "paste_lines": 100,
        "runs": len(runs),
        "turns": os.environ.get("NGINX_TRIAGE_TURNS", "processes"),
        **{key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]},
        "targets": {
            "ack_p99_ms": MAX_ACK_P99_S * 1000,
            "reply_median_s": MAX_REPLY_MEDIAN_S,
            "file_reply_median_s": MAX_FILE_REPLY_MEDIAN_S,
        },
    }
    ok = opts.files_only or (
        float(result["ack_p99_ms"]) < MAX_ACK_P99_S * 1000 and float(result["reply_median_s"]) < MAX_REPLY_MEDIAN_S
    )
    if opts.files:
        ok = (
            ok
            and float(result["file_reply_median_s"]) < MAX_FILE_REPLY_MEDIAN_S
            and float(result["file_ack_p99_ms"]) < MAX_ACK_P99_S * 1000
        )
    result["ok"] = ok
    if opts.json:
        print(json.dumps(result))
    else:
        median = "median of " + str(len(runs)) + " runs: " if len(runs) > 1 else ""
        if opts.files_only:
            print(f"file phase only, turns in {result['turns']}")
        else:
            print_burst(opts, result, median)
        if opts.files:
            print(
                f"  10,000-line file {median}answered in median {result['file_reply_median_s']} s after the event "
                f"(max {result['file_reply_max_s']} s, {opts.files} files, target < {MAX_FILE_REPLY_MEDIAN_S} s); "
                f"meanwhile ack p99 {result['file_ack_p99_ms']} ms over {result['file_acks']} events"
            )
        print("  " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def print_burst(opts: argparse.Namespace, result: dict[str, object], median: str) -> None:
    """The burst and one-at-a-time lines of the report."""
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


if __name__ == "__main__":
    sys.exit(main())
