"""The HTTP front: POST /slack/events through Bolt, plus /healthz, /readyz and /metrics.

A stdlib ThreadingHTTPServer: one thread per connection, enough for Slack's event rate
since every request is answered as soon as Bolt acks.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.slack.metrics import ACK_SECONDS, exposition
from bot.slack.ports import ConversationStore
from bot.slack.settings import MAX_REQUEST_BYTES

log = logging.getLogger("nginx_triage.slack.http")

EVENTS_PATH = "/slack/events"


@dataclass
class Readiness:
    """What /readyz checks: the store answers, the KB is loaded, the settings are usable."""

    store: ConversationStore | None = None
    kb_loaded: bool = False
    problems: list[str] = field(default_factory=list)
    extra_checks: dict[str, Callable[[], str | None]] = field(default_factory=dict)
    """name -> a check returning None when fine, else why not."""

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, JSON-able report with a reason for every failed check)."""
        reasons = list(self.problems)
        checks: dict[str, str] = {}
        if self.store is None:
            checks["store"] = "not configured"
            reasons.append("store: not configured")
        elif self.store.ping():
            checks["store"] = "ok"
        else:
            why = getattr(self.store, "last_error", None) or "the database did not answer"
            checks["store"] = str(why)
            reasons.append(f"store: {why}")
        checks["kb"] = "ok" if self.kb_loaded else "not loaded"
        if not self.kb_loaded:
            reasons.append("kb: the knowledge base did not load (see the logs)")
        for name, fn in self.extra_checks.items():
            why_not = fn()
            checks[name] = why_not or "ok"
            if why_not:
                reasons.append(f"{name}: {why_not}")
        return not reasons, {"ready": not reasons, "checks": checks, "reasons": reasons}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SlackHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/readyz":
            ready, report = self.server.readiness.check()
            self._json(200 if ready else 503, report)
        elif path == "/metrics":
            body, ctype = exposition()
            self._send(200, body, ctype)
        else:
            self._json(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.path)
        if parts.path != EVENTS_PATH:
            self._json(404, {"error": "not found"})
            return
        length_header = self.headers.get("Content-Length", "")
        if not length_header.isdigit():
            self._json(411, {"error": "Content-Length required"})
            return
        length = int(length_header)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._json(413, {"error": "request too large"})
            return
        raw = self.rfile.read(length)
        app = self.server.app
        if self.server.socket_mode:
            self._json(404, {"error": "this bot receives events over Socket Mode"})
            return
        if app is None:
            self._json(503, {"error": "not ready", "reasons": self.server.readiness.check()[1]["reasons"]})
            return
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._json(400, {"error": "body is not UTF-8"})
            return
        headers: dict[str, str | Sequence[str]] = {name.lower(): value for name, value in self.headers.items()}
        response = app.dispatch(BoltRequest(body=body, query=parts.query, headers=headers))
        out_headers: dict[str, str] = {}
        content_type = "text/plain; charset=utf-8"
        for name, values in response.headers.items():
            if name.lower() == "content-type":
                content_type = values[0]
            elif name.lower() not in ("content-length", "connection", "transfer-encoding"):
                out_headers[name] = ", ".join(values)
        self._send(response.status, (response.body or "").encode("utf-8"), content_type, out_headers)
        ACK_SECONDS.observe(time.perf_counter() - started)


class SlackHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the Bolt app (None: /slack/events answers 503) and the readiness checks."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App | None, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness
        self.socket_mode = False
        super().__init__(address, _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="nginx-triage-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, finish the request loop, close the socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
