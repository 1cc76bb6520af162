"""The front door under attack: ``nginx-triage serve`` as a whole process (HTTP mode, the fake
Slack on 127.0.0.1, a SQLite store), fed malformed requests over raw sockets, odd headers,
a slowloris flood past its open-file limit (1,024, set by the spawning shell) and 300
mutated signed payloads. Every request gets an HTTP answer with the right status, /healthz
answers throughout, the process never logs a traceback or a request body, and a real
event still gets its diagnosis afterwards."""

from __future__ import annotations

import copy
import json
import random
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.fake_slack import TEAM, FakeSlack, ForeignHost, event_body, sign
from tests.fakes.serve_harness import ServeProcess, http_env
from tests.fakes.slack_harness import CHANNEL, USER, mention

pytestmark = [pytest.mark.slow]

NOFILE = 1024
FLOOD = 1100
"""Idle connections opened at once: more than the server's open-file limit."""
MUTATIONS = 300
MARKER = "hostile-body-marker-7f3a"
"""In every request body: it must never appear in the server's log."""
ANSWER_TIMEOUT_S = 15.0


@pytest.fixture
def served(fake: FakeSlack, tmp_path: Path) -> Iterator[ServeProcess]:
    env = http_env(fake, f"sqlite:///{tmp_path / 'bot.sqlite3'}", NGINX_TRIAGE_WORKERS="1")
    proc = ServeProcess.start(env, tmp_path, "serve-hostile", nofile=NOFILE)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()
    text = proc.log_text()
    assert "Traceback" not in text, proc.log_tail()
    assert MARKER not in text, "a request body reached the log"
    for line in text.splitlines():
        assert line.startswith("{"), f"a log line that is not JSON: {line[:200]}"


def exchange(port: int, raw: bytes, *, half_close: bool = False, timeout: float = ANSWER_TIMEOUT_S) -> int:
    """Send ``raw`` on a fresh connection; the status of the answer (0: none arrived)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    first = data.split(b"\r\n", 1)[0].split(b" ")
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else 0


def post(body: bytes, headers: dict[str, str], path: str = "/slack/events") -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def signed(body: bytes, content_type: str = "application/json", **extra: str) -> bytes:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **sign(body), **extra}
    return post(body, headers)


def event_json(event_id: Any = "EvHostile", text: str = f"hello {MARKER}") -> dict[str, Any]:
    return json.loads(event_body(mention(text, "1800009000.000100"), "EvHostile")) | {"event_id": event_id}


def healthy(served: ServeProcess) -> None:
    assert served.proc.poll() is None, served.log_tail()
    assert served.get("/healthz", timeout=5)[0] == 200


def test_malformed_requests_and_odd_headers_each_get_their_4xx(served: ServeProcess) -> None:
    port = served.port
    good = json.dumps(event_json()).encode()
    stale = {**sign(good, timestamp=int(time.time()) - 600)}
    deep = ("[" * 5000 + "]" * 5000).encode()
    cases: list[tuple[str, bytes, int]] = [
        ("unsigned bad JSON", post(b"{not json " + MARKER.encode(), {"Content-Length": "30"}), 401),
        ("signed bad JSON", signed(b"{not json " + MARKER.encode()), 400),
        (
            "signed bad form payload",
            signed(b"payload=%7Bnope" + MARKER.encode(), "application/x-www-form-urlencoded"),
            400,
        ),
        ("signed JSON that is a list", signed(b"[1, 2]"), 400),
        ("signed body not UTF-8", signed(b"{\xff\xfe " + MARKER.encode() + b"}"), 400),
        ("signed deep nesting", signed(deep), 400),
        ("signed NaN", signed(b'{"event_id": NaN, "x": "' + MARKER.encode() + b'"}'), 400),
        ("event_id 2**70", signed(json.dumps(event_json(2**70)).encode()), 400),
        ("event_id a list", signed(json.dumps(event_json(["x"])).encode()), 400),
        ("event_id 10k characters", signed(json.dumps(event_json("E" * 10_000)).encode()), 400),
        ("a number past int() limits", signed(b'{"event_time": ' + b"9" * 5000 + b"}"), 400),
        (
            "non-integer timestamp",
            post(
                good,
                {"Content-Length": str(len(good)), "X-Slack-Request-Timestamp": "12.5", "X-Slack-Signature": "v0=00"},
            ),
            401,
        ),
        (
            "Unicode-digit timestamp",
            post(
                good,
                {
                    "Content-Length": str(len(good)),
                    "X-Slack-Request-Timestamp": "１７００",
                    "X-Slack-Signature": "v0=0",
                },
            ),
            401,
        ),
        ("stale signature", post(good, {"Content-Length": str(len(good)), **stale}), 401),
        ("wrong secret", post(good, {"Content-Length": str(len(good)), **sign(good, secret="not-the-secret")}), 401),
        ("Content-Length: ²", post(good, {"Content-Length": "²", **sign(good)}), 400),
        ("Content-Length negative", post(good, {"Content-Length": "-1", **sign(good)}), 400),
        ("Content-Length huge", post(b"", {"Content-Length": "999999999999"}), 413),
        ("Content-Length over the cap", post(b"", {"Content-Length": str(5 * 1024 * 1024)}), 413),
        ("conflicting Content-Length", post(good, {"Content-Length": f"{len(good)}, 7", **sign(good)}), 400),
        ("chunked", post(b"0\r\n\r\n", {"Transfer-Encoding": "chunked"}), 411),
        ("no Content-Length", post(b"", {}), 411),
        ("a 20 KB header line", post(b"", {"X-Big": "a" * 20_000, "Content-Length": "0"}), 431),
        ("200 headers", post(b"", {f"X-H{i}": "v" for i in range(200)} | {"Content-Length": "0"}), 431),
        ("control character in a header", post(b"", {"X-Odd": "a\x01b", "Content-Length": "0"}), 400),
        ("folded header", b"POST /slack/events HTTP/1.1\r\nX-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n", 400),
        ("garbage request line", b"GARBAGE\r\n\r\n", 400),
        ("HTTP/2.0 request line", b"GET /healthz HTTP/2.0\r\n\r\n", 505),
        ("binary request line", b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n", 400),
        ("unknown Expect", post(b"", {"Content-Length": "0", "Expect": "teapot"}), 417),
        ("GET on the events path", b"GET /slack/events HTTP/1.1\r\nConnection: close\r\n\r\n", 405),
        ("POST on /healthz", post(b"", {"Content-Length": "0"}, "/healthz"), 405),
        ("unknown path", b"GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", 404),
    ]
    for name, raw, expected in cases:
        assert exchange(port, raw) == expected, name
    # A body shorter than its Content-Length, then the client stops sending.
    assert exchange(port, post(b"{}", {"Content-Length": "100", **sign(b"{}")}), half_close=True) == 400
    healthy(served)
    metrics = served.metrics()
    assert metrics['nginx_triage_http_rejected_total{status="401"}'] >= 5
    assert metrics['nginx_triage_http_rejected_total{status="400"}'] >= 15


def test_a_slowloris_flood_past_the_open_file_limit_never_takes_healthz_or_events_down(
    served: ServeProcess, fake: FakeSlack
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FLOOD + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, FLOOD + 500), hard))
    socks: list[socket.socket] = []
    try:
        for i in range(FLOOD):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            if i % 2:  # half of them start a request head and never finish it
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nX-Slow: ")
            socks.append(sock)
        for _ in range(3):
            healthy(served)
        body = event_body(
            mention("2026/12/01 10:00:00 [alert] 1#1: 1024 worker_connections are not enough", "1800009100.000100"),
            "EvAfterFlood",
        )
        assert exchange(served.port, signed(body.encode())) == 200
        fake.wait_for(lambda: fake.thread_messages(CHANNEL, "1800009100.000100"), 30, "the diagnosis after the flood")
        # Slowloris trickling one byte at a time is cut at the head deadline with a 408.
        with socket.create_connection(("127.0.0.1", served.port), timeout=30) as slow:
            started = time.monotonic()
            slow.sendall(b"POST /slack/events HTTP/1.1\r\n")
            answer = b""
            for _ in range(30):
                try:
                    slow.sendall(b"X")
                    slow.settimeout(1.0)
                    answer += slow.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if answer:
                    break
            assert answer.startswith(b"HTTP/1.1 408") or time.monotonic() - started < 25
        healthy(served)
    finally:
        for sock in socks:
            sock.close()
    metrics = served.metrics()
    assert metrics["nginx_triage_http_connections_evicted_total"] >= FLOOD - metrics["nginx_triage_http_connection_cap"]
    assert metrics["nginx_triage_http_connection_cap"] <= NOFILE


def mutate(rng: random.Random, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """One random change somewhere in ``payload``; (mutated, surely out of bounds)."""
    out = copy.deepcopy(payload)
    paths: list[tuple[dict[str, Any], str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(out)
    parent, key = rng.choice(paths)
    choices: list[tuple[Any, bool]] = [
        (2**70, True),
        (-(2**70), True),
        (10**30, True),
        (1e300, True),
        ("x" * 300, key in ("event_id", "channel", "ts", "user", "team_id")),
        ("１２³", False),
        ("a\x00b", key in ("event_id", "channel", "ts", "user", "team_id")),
        (None, False),
        ([], key in ("event_id", "channel", "ts", "user", "team_id")),
        ({"nested": {"deeper": [1, 2, 3]}}, False),
        (True, False),
        (0, False),
        ("", False),
        ("<script>" + MARKER, False),
    ]
    value, out_of_bounds = rng.choice(choices)
    if rng.random() < 0.1:
        del parent[key]
        return out, False
    parent[key] = value
    return out, out_of_bounds


def test_300_mutated_signed_payloads_are_all_answered(served: ServeProcess, fake: FakeSlack) -> None:
    rng = random.Random(13)
    bases: list[tuple[dict[str, Any], str]] = [
        (event_json(), "json"),
        (
            {
                "type": "block_actions",
                "team": {"id": TEAM, "domain": "test"},
                "user": {"id": USER, "team_id": TEAM},
                "channel": {"id": CHANNEL},
                "container": {"type": "message", "message_ts": "1800009200.000200", "channel_id": CHANNEL},
                "message": {"ts": "1800009200.000200", "thread_ts": "1800009200.000100", "text": MARKER},
                "actions": [{"action_id": "nope", "block_id": "b1", "value": "v", "type": "button"}],
                "trigger_id": "1.2.3",
                "response_url": fake.response_url(),
            },
            "payload",
        ),
        (
            {
                "command": "/nginx-triage",
                "text": f"help {MARKER}",
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": USER,
                "response_url": fake.response_url(),
                "trigger_id": "1.2.3",
            },
            "form",
        ),
    ]
    statuses: dict[int, int] = {}
    for i in range(MUTATIONS):
        base, kind = bases[i % len(bases)]
        if kind == "json":
            base = {**base, "event_id": f"EvMut{i}"}
        mutated, out_of_bounds = mutate(rng, base)
        if kind == "json":
            body, ctype = json.dumps(mutated).encode(), "application/json"
        elif kind == "payload":
            body, ctype = urlencode({"payload": json.dumps(mutated)}).encode(), "application/x-www-form-urlencoded"
        else:
            body = urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in mutated.items()}).encode()
            ctype, out_of_bounds = "application/x-www-form-urlencoded", False  # a form holds strings only
        status = exchange(served.port, signed(body, ctype))
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 400, 404), f"mutation {i}: {status}"
        if out_of_bounds:
            assert status == 400, f"mutation {i} is out of bounds but got {status}"
        if i % 50 == 0:
            healthy(served)
    healthy(served)
    assert statuses.get(400, 0) >= 30 and statuses.get(200, 0) >= 30, statuses


def test_a_command_response_url_off_slacks_hosts_is_never_followed(served: ServeProcess, fake: FakeSlack) -> None:
    foreign = ForeignHost().start()
    try:
        own = fake.response_url("own")
        for url in (foreign.url("/hook"), own):
            fields = {"command": "/nginx-triage", "text": "help", "team_id": TEAM, "channel_id": CHANNEL}
            fields |= {"user_id": USER, "response_url": url, "trigger_id": "1.2.3"}
            assert exchange(served.port, signed(urlencode(fields).encode(), "application/x-www-form-urlencoded")) == 200
        fake.wait_for(lambda: fake.responses, 20, "the help answer at the Slack-hosted response_url")
        fake.wait_quiet(1.0)
        assert foreign.requests == []
        assert "ignored a response_url that is not on Slack's hosts" in served.log_text()
    finally:
        foreign.stop()
