"""Soak: thousands of distinct pastes through ``nginx-triage serve``; memory must stay flat.

``serve`` runs as deployed (its own process, HTTP mode, turn worker processes, the default
SQLite store) against the fake Slack on 127.0.0.1. Each turn is a new thread whose mention
carries a paste no other turn has (error-log lines with their own addresses, upstreams,
paths, pids and times), at most ``--in-flight`` at a time. The resident memory of the whole
process tree (``serve`` and its workers, from /proc) is sampled as it goes.

Pass: RSS growth from the end of the warm-up to the end under ``--max-growth-mb`` (15 MB).
Measured before the fix (issue 13): 270 MB after 600 turns, 318 MB after 3,000, about 20 KB
a turn. ``--turns 20000`` is the full soak; ``--ci`` is a short run for CI (1,500 turns,
500 of them warm-up).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_slack import Call, FakeSlack  # noqa: E402
from tests.fakes.serve_harness import ServeProcess, http_env  # noqa: E402
from tests.fakes.slack_harness import mention  # noqa: E402
from tests.integration.test_slack_inbox import post_event  # noqa: E402

MAX_GROWTH_MB = 15.0
TURN_TIMEOUT_S = 120.0

TEMPLATES = (
    "{t} [error] {pid}#{pid}: *{cid} upstream timed out (110: Connection timed out) while reading response "
    'header from upstream, client: {ip}, server: {host}, request: "GET /{path} HTTP/1.1", '
    'upstream: "http://{up}:{port}/{path}", host: "{host}"',
    "{t} [alert] {pid}#{pid}: {wc} worker_connections are not enough",
    "{t} [crit] {pid}#{pid}: *{cid} connect() to {up}:{port} failed (111: Connection refused) while connecting "
    'to upstream, client: {ip}, server: {host}, request: "POST /{path} HTTP/1.1", upstream: "http://{up}:{port}/"',
    "{t} [error] {pid}#{pid}: *{cid} client intended to send too large body: {size} bytes, client: {ip}, "
    'server: {host}, request: "POST /{path} HTTP/1.1", host: "{host}"',
    "{t} [alert] {pid}#{pid}: socket() failed (24: Too many open files)",
    '{t} [error] {pid}#{pid}: *{cid} open() "/var/www/{host}/{path}" failed (2: No such file or directory), '
    'client: {ip}, server: {host}, request: "GET /{path} HTTP/1.1"',
    '{t} [error] {pid}#{pid}: *{cid} FastCGI sent in stderr: "PHP message: PHP Warning:  {trace}" while reading '
    'response header from upstream, client: {ip}, server: {host}, request: "GET /{path} HTTP/1.1", '
    'upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "{host}"',
    "{t} [warn] {pid}#{pid}: *{cid} a message no entry knows about {host} {path} while doing {trace}",
)
"""Lines as real error logs carry them: known errors, long PHP warnings, messages the KB lacks."""


def distinct_paste(rng: random.Random, n: int) -> str:
    """A few error-log lines whose values appear in no other paste of the run."""
    lines = []
    for k in range(rng.randint(2, 6)):
        values = {
            "t": f"2026/{1 + n % 12:02d}/{1 + n % 28:02d} {n % 24:02d}:{k:02d}:{n % 60:02d}",
            "pid": 1000 + n % 60000,
            "cid": n * 10 + k,
            "ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            "host": f"site{n}.example.org",
            "path": f"api/v{k}/item{n}",
            "up": f"10.{200 + k}.{n // 256 % 256}.{n % 256}",
            "port": 8000 + n % 1000,
            "wc": 512 * (1 + n % 8),
            "size": 1_000_000 + n,
            "trace": " ".join(
                f"in /srv/{n}/src/Module{k}/File{j}.php:{n % 997 + j}" for j in range(rng.randint(3, 30))
            ),
        }
        lines.append(rng.choice(TEMPLATES).format(**values))
    return "\n".join(lines)


def tree_rss_kb(root_pid: int) -> int:
    """Resident memory (kB) of ``root_pid`` and all its descendants, from /proc."""
    return sum(rss_by_pid(root_pid).values())


def rss_by_pid(root_pid: int) -> dict[int, int]:
    """Resident memory (kB) of ``root_pid`` and each of its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: dict[int, int] = {}
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            continue
    return out


def run(turns: int, warmup: int, in_flight: int, max_growth_mb: float, workers: int) -> int:
    fake = FakeSlack().start()
    waiting: dict[str, threading.Event] = {}
    replies = [0]
    lock = threading.Lock()

    def record(call: Call) -> None:
        # Keep the fake's own memory flat: count the replies, keep nothing.
        if call.method == "chat.postMessage":
            with lock:
                replies[0] += 1
                answered = waiting.pop(str(call.params.get("thread_ts")), None)
            if answered is not None:
                answered.set()

    fake._record = record  # type: ignore[method-assign]
    growth = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        env = http_env(
            fake,
            f"sqlite:///{Path(tmp) / 'soak.sqlite3'}",
            NGINX_TRIAGE_WORKERS=str(workers),
            **{k: v for k, v in os.environ.items() if k in ("NGINX_TRIAGE_INBOX", "NGINX_TRIAGE_TURNS")},
        )
        serve = ServeProcess.start(env, Path(tmp), "serve-soak")
        try:
            serve.wait_ready()
            samples: list[tuple[int, float]] = []
            counter = iter(range(turns))
            finished = [0]
            started = time.monotonic()

            def one(n: int) -> None:
                root = f"{1900000000 + n}.000100"
                answered = threading.Event()
                with lock:
                    waiting[root] = answered
                paste = distinct_paste(random.Random(n), n)
                status = post_event(serve, mention(paste, root), f"EvSoak{n:06d}")
                if status != 200:
                    raise AssertionError(f"turn {n}: HTTP {status}")
                if not answered.wait(TURN_TIMEOUT_S):
                    raise AssertionError(f"turn {n}: no reply within {TURN_TIMEOUT_S} s")

            def sample(done: int) -> None:
                by_pid = rss_by_pid(serve.proc.pid)
                rss_mb = sum(by_pid.values()) / 1024
                samples.append((done, rss_mb))
                rate = done / (time.monotonic() - started)
                each = " ".join(f"{pid}:{kb / 1024:.1f}" for pid, kb in sorted(by_pid.items()))
                print(f"turns {done:6d}  rss {rss_mb:7.1f} MB  {rate:5.1f} turns/s  [{each}]", flush=True)

            def sender() -> None:
                for n in counter:
                    one(n)
                    with lock:
                        finished[0] += 1
                        done = finished[0]
                    if done == warmup or done % max(1, turns // 20) == 0:
                        sample(done)

            with ThreadPoolExecutor(in_flight) as pool:
                for future in [pool.submit(sender) for _ in range(in_flight)]:
                    future.result()
            time.sleep(2.0)
            end_mb = tree_rss_kb(serve.proc.pid) / 1024
            at_warmup = next(mb for n, mb in samples if n >= warmup)
            growth = end_mb - at_warmup
            per_turn_kb = growth * 1024 / max(1, turns - warmup)
            print(
                f"soak: {turns} distinct pastes ({replies[0]} replies), warm-up {warmup}: "
                f"rss {at_warmup:.1f} MB after warm-up, {end_mb:.1f} MB at the end, "
                f"growth {growth:+.1f} MB ({per_turn_kb:+.2f} KB/turn), limit {max_growth_mb} MB, "
                f"{turns / (time.monotonic() - started):.1f} turns/s"
            )
            metrics = serve.metrics()
            for name in sorted(metrics):
                if any(word in name for word in ("cache", "tracked", "deferred", "connections")):
                    print(f"  {name} {metrics[name]:g}")
        finally:
            serve.stop()
            fake.stop()
    return 0 if growth < max_growth_mb else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=None, help="turns before the baseline (default: 10%%, >= 500)")
    parser.add_argument("--in-flight", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-growth-mb", type=float, default=MAX_GROWTH_MB)
    parser.add_argument("--ci", action="store_true", help="short run: 1,500 turns, 500 of them warm-up")
    args = parser.parse_args()
    turns = 1500 if args.ci else args.turns
    warmup = 500 if args.ci else (args.warmup if args.warmup is not None else max(500, turns // 10))
    return run(turns, min(warmup, turns - 1), args.in_flight, args.max_growth_mb, args.workers)


if __name__ == "__main__":
    sys.exit(main())
