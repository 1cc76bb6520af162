"""The HTTP front: POST /slack/events through Bolt, plus /healthz, /readyz and /metrics.

An asyncio server on one thread holds every connection; only a complete, size-checked
request reaches a thread (``HANDLER_THREADS``) to be verified and dispatched to Bolt. Reads
have deadlines (``bot.slack.http_wire``) and the number of connections is capped below the
open-file limit: when the cap is reached, the oldest connection that is not being answered
(an idle keep-alive, a slowloris still "sending" its head) is closed to make room, so a new
request, /healthz included, is always read. Measured before: the stdlib threaded server
with no read timeout lost /healthz and events to 1,100 idle connections at ``ulimit -n 1024``.
Every refusal is a 4xx (401 for a bad signature) with a JSON reason, counted and logged
without the body (``bot.slack.request_checks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.slack.http_wire import BadRequest, IdleTimeout, Request, content_length, read_body, read_head, response_bytes
from bot.slack.metrics import (
    ACK_SECONDS,
    HTTP_CONNECTION_CAP,
    HTTP_CONNECTIONS,
    HTTP_EVICTED,
    HTTP_TIMEOUTS,
    REQUESTS_REJECTED,
    STRUCTURE_BOUND,
    STRUCTURE_ITEMS,
    exposition,
)
from bot.slack.ports import ConversationStore
from bot.slack.request_checks import check_payload, verify_signature
from bot.slack.settings import MAX_REQUEST_BYTES

log = logging.getLogger("nginx_triage.slack.http")

EVENTS_PATH = "/slack/events"
HANDLER_THREADS = 32
"""Threads verifying and dispatching complete requests (and answering /readyz, /metrics)."""
FD_RESERVE = 200
"""Descriptors kept free for everything else: the database, worker pipes, calls to Slack, logs."""
MAX_CONNECTIONS = 4096
WRITE_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0
JSON = "application/json"

Answer = tuple[int, bytes, str, dict[str, str]]
"""status, body, content type, extra headers."""


def connection_cap() -> int:
    """How many connections to hold at once: the open-file limit minus a reserve (at least 16)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - FD_RESERVE))


def _json(status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return status, json.dumps(data).encode(), JSON, headers or {}


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


@dataclass(eq=False)
class _Connection:
    """One client connection; ``busy`` while its request is being answered (never evicted then)."""

    writer: asyncio.StreamWriter
    busy: bool = False

    def abort(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()


class SlackHTTPServer:
    """The front door carrying the Bolt app (None: /slack/events answers 503) and the readiness
    checks. The socket is bound in the constructor (OSError when the port is taken); ``start``
    serves on a background thread, ``stop`` closes everything."""

    def __init__(
        self,
        address: tuple[str, int],
        app: App | None,
        readiness: Readiness,
        *,
        signing_secret: str = "",
        max_connections: int | None = None,
    ) -> None:
        self.app = app
        self.readiness = readiness
        self.socket_mode = False
        self.signing_secret = signing_secret
        self.cap = max_connections or connection_cap()
        self._sock = socket.create_server(address, backlog=1024)
        self._sock.setblocking(False)
        self._pool = ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="nginx-triage-http")
        self._connections: dict[_Connection, None] = {}
        """Open connections, oldest first (a dict keeps insertion order)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        HTTP_CONNECTION_CAP.set(self.cap)
        STRUCTURE_BOUND.labels(structure="http_connections").set(self.cap)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._sock.getsockname()[1])

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a background thread (returns once the server accepts)."""
        self._thread = threading.Thread(target=self._run, name="nginx-triage-http", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.set_exception_handler(_log_loop_error)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve_connection, sock=self._sock, limit=16 * 1024)
            )
            self._started.set()
            loop.run_forever()
        finally:
            self._started.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop accepting, let requests being answered finish (bounded), close every connection."""
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._close(), loop)
            with contextlib.suppress(Exception):
                future.result(STOP_GRACE_S + 5)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
        else:
            self._sock.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + STOP_GRACE_S
        while any(c.busy for c in self._connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self._connections):
            conn.abort()
        await asyncio.sleep(0)

    # -- connections ----------------------------------------------------------------------------------

    def _admit(self, conn: _Connection) -> bool:
        """Make room for ``conn`` under the cap by closing the oldest connection not being answered."""
        if len(self._connections) >= self.cap:
            victim = next((c for c in self._connections if not c.busy), None)
            if victim is None:
                return False
            victim.abort()
            self._connections.pop(victim, None)
            HTTP_EVICTED.inc()
        self._connections[conn] = None
        HTTP_CONNECTIONS.set(len(self._connections))
        STRUCTURE_ITEMS.labels(structure="http_connections").set(len(self._connections))
        return True

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(writer)
        try:
            if not self._admit(conn):
                await self._write(writer, _json(503, {"error": "too many connections"}), close=True)
                return
            first = True
            while True:
                conn.busy = False
                try:
                    request = await read_head(reader, first=first)
                    first = False
                    length = content_length(request, MAX_REQUEST_BYTES)
                    if (request.header("expect") or "").lower() == "100-continue" and length:
                        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    elif request.header("expect"):
                        raise BadRequest(417, "unsupported Expect header")
                    request.body = await read_body(reader, length)
                except (EOFError, IdleTimeout):
                    return
                except BadRequest as exc:
                    await self._refuse(writer, exc)
                    return
                conn.busy = True
                answer = await self._answer(request)
                keep = request.keep_alive
                await self._write(writer, answer, close=not keep, head=request.method == "HEAD")
                if not keep:
                    return
        except (ConnectionError, OSError, TimeoutError):
            return
        finally:
            self._connections.pop(conn, None)
            HTTP_CONNECTIONS.set(len(self._connections))
            conn.abort()

    async def _refuse(self, writer: asyncio.StreamWriter, exc: BadRequest) -> None:
        REQUESTS_REJECTED.labels(status=str(exc.status)).inc()
        if exc.status == 408:
            HTTP_TIMEOUTS.inc()
        log.warning("rejected a request: %s", exc.message, extra={"status": exc.status})
        await self._write(writer, _json(exc.status, {"error": exc.message}), close=True)

    async def _write(self, writer: asyncio.StreamWriter, answer: Answer, *, close: bool, head: bool = False) -> None:
        status, body, content_type, headers = answer
        writer.write(response_bytes(status, body, content_type, headers, close=close, head=head))
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await writer.drain()

    # -- answering ------------------------------------------------------------------------------------

    async def _answer(self, request: Request) -> Answer:
        path = urlsplit(request.target).path
        loop = asyncio.get_running_loop()
        if path in ("/healthz", "/readyz", "/metrics"):
            if request.method not in ("GET", "HEAD"):
                return _json(405, {"error": "method not allowed"}, {"Allow": "GET, HEAD"})
            if path == "/healthz":
                return _json(200, {"status": "ok"})
            return await loop.run_in_executor(self._pool, self._status_page, path)
        if path != EVENTS_PATH:
            return _json(404, {"error": "not found"})
        if request.method != "POST":
            return _json(405, {"error": "method not allowed"}, {"Allow": "POST"})
        return await loop.run_in_executor(self._pool, self._events, request)

    def _status_page(self, path: str) -> Answer:
        if path == "/readyz":
            ready, report = self.readiness.check()
            return _json(200 if ready else 503, report)
        body, content_type = exposition()
        return 200, body, content_type, {}

    def _events(self, request: Request) -> Answer:
        """Verify, check the shape, then hand the request to Bolt (which acks)."""
        started = time.perf_counter()
        if self.socket_mode:
            return _json(404, {"error": "this bot receives events over Socket Mode"})
        app = self.app
        if app is None:
            return _json(503, {"error": "not ready", "reasons": self.readiness.check()[1]["reasons"]})
        rejection = verify_signature(
            self.signing_secret,
            request.header("x-slack-request-timestamp"),
            request.header("x-slack-signature"),
            request.body,
            time.time(),
        ) or check_payload(request.body, request.header("content-type") or "")
        if rejection is not None:
            return _json(rejection.status, {"error": rejection.reason})
        try:
            response = app.dispatch(
                BoltRequest(
                    body=request.body.decode("utf-8"),
                    query=urlsplit(request.target).query,
                    headers=dict(request.headers),
                )
            )
        except Exception as exc:  # Bolt answers listener errors itself; this is anything else
            log.error("could not handle a request: %s", type(exc).__name__, extra={"bytes": len(request.body)})
            return _json(500, {"error": "internal error"})
        headers: dict[str, str] = {}
        content_type = "text/plain; charset=utf-8"
        for name, values in response.headers.items():
            if name.lower() == "content-type":
                content_type = values[0]
            elif name.lower() not in ("content-length", "connection", "transfer-encoding"):
                headers[name] = ", ".join(values)
        ACK_SECONDS.observe(time.perf_counter() - started)
        return response.status, (response.body or "").encode("utf-8"), content_type, headers


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's own errors as one structured line (no traceback text, no request data)."""
    exc = context.get("exception")
    log.error(
        "http server: %s",
        str(context.get("message") or "error"),
        extra={"error": type(exc).__name__ if exc else None},
    )
