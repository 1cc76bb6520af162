"""HTTP/1.1 requests read off an asyncio stream with a limit on everything a client controls.

The front door faces the internet. A stdlib ``ThreadingHTTPServer`` gives every connection a
thread and waits on it forever: 1,100 idle connections at a 1,024-descriptor limit took
/healthz and the events endpoint down, and ``Content-Length: ²`` (a Unicode digit that
``str.isdigit`` accepts and ``int`` converts) killed the handler thread. Here a request is
read under deadlines (the whole head, then the whole body), every line, header count and
body size is capped, and anything malformed is a ``BadRequest`` carrying the 4xx to send.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.lazy_re import lazy_compile

MAX_LINE_BYTES = 8192
"""Longest request line or header line."""
MAX_HEADERS = 100
MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT_S = 10.0
"""The whole request head (line and headers) must arrive within this: slowloris gets no longer."""
BODY_TIMEOUT_S = 20.0
"""The whole body must arrive within this (Slack's payloads are a few KB, sent at once)."""
IDLE_TIMEOUT_S = 15.0
"""A kept-alive connection with no new request for this long is closed."""

_TOKEN = lazy_compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD = lazy_compile(rb"[A-Z]{1,16}")
_VERSION = lazy_compile(rb"HTTP/1\.[01]")
_LENGTH = lazy_compile(r"[0-9]{1,19}")
"""ASCII digits only: ``²`` or ``①`` are not a length."""


class BadRequest(Exception):
    """A request that cannot be served; ``status`` is the 4xx (or 5xx) to answer, then close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class IdleTimeout(Exception):
    """No request started on a kept-alive connection in time: close it without an answer."""


@dataclass
class Request:
    """One parsed request. Header names are lower-cased; a repeated header keeps every value."""

    method: str
    target: str
    version: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        values = self.headers.get(name)
        return values[0] if values else None

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked."""
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request line or header line too long") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise EOFError from None
        raise BadRequest(400, "connection closed in the middle of the request head") from None
    if len(line) > MAX_LINE_BYTES:
        raise BadRequest(431, "request line or header line too long")
    return line.rstrip(b"\r\n")


def _request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or not parts[1]:
        raise BadRequest(400, "malformed request line")
    if not _VERSION.fullmatch(parts[2]):
        raise BadRequest(505 if parts[2].startswith(b"HTTP/") else 400, "unsupported HTTP version")
    if any(b < 0x21 or b > 0x7E for b in parts[1]):
        raise BadRequest(400, "malformed request target")
    return parts[0].decode("ascii"), parts[1].decode("ascii"), parts[2].decode("ascii")


def _header(line: bytes) -> tuple[str, str]:
    if line[:1] in (b" ", b"\t"):
        raise BadRequest(400, "folded header lines are not accepted")
    name, sep, value = line.partition(b":")
    if not sep or not _TOKEN.fullmatch(name):
        raise BadRequest(400, "malformed header line")
    if any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
        raise BadRequest(400, "control character in a header value")
    return name.decode("ascii").lower(), value.decode("latin-1").strip(" \t")


async def read_head(reader: asyncio.StreamReader, *, first: bool) -> Request:
    """The request line and headers. A new connection's whole head must arrive within
    ``HEAD_TIMEOUT_S``; on a kept-alive one the request line may take ``IDLE_TIMEOUT_S``
    (then ``IdleTimeout``), the headers after it ``HEAD_TIMEOUT_S``. EOFError: the client
    closed between requests."""
    loop = asyncio.get_running_loop()
    head_deadline = loop.time() + HEAD_TIMEOUT_S
    try:
        async with asyncio.timeout_at(head_deadline if first else loop.time() + IDLE_TIMEOUT_S):
            line = await _line(reader)
            while not line:  # RFC 9112: ignore empty lines before the request line
                line = await _line(reader)
    except TimeoutError:
        if first:
            raise BadRequest(408, "the request head did not arrive in time") from None
        raise IdleTimeout from None
    method, target, version = _request_line(line)
    request = Request(method, target, version)
    if not first:
        head_deadline = loop.time() + HEAD_TIMEOUT_S
    try:
        async with asyncio.timeout_at(head_deadline):
            size = len(line)
            count = 0
            while True:
                line = await _line(reader)
                if not line:
                    break
                size += len(line)
                count += 1
                if size > MAX_HEAD_BYTES or count > MAX_HEADERS:
                    raise BadRequest(431, "too many or too large headers")
                name, value = _header(line)
                request.headers.setdefault(name, []).append(value)
    except TimeoutError:
        raise BadRequest(408, "the request head did not arrive in time") from None
    except EOFError:
        raise BadRequest(400, "connection closed in the middle of the request head") from None
    return request


def content_length(request: Request, max_bytes: int) -> int:
    """The declared body length, checked: ASCII digits, one value, at most ``max_bytes``."""
    if "transfer-encoding" in request.headers:
        raise BadRequest(411, "chunked bodies are not accepted: send Content-Length")
    values = request.headers.get("content-length")
    if not values:
        if request.method in ("POST", "PUT", "PATCH"):
            raise BadRequest(411, "Content-Length required")
        return 0
    candidates = {v.strip() for value in values for v in value.split(",")}
    if len(candidates) != 1:
        raise BadRequest(400, "conflicting Content-Length headers")
    raw = candidates.pop()
    if not _LENGTH.fullmatch(raw):
        raise BadRequest(400, "Content-Length is not a number")
    length = int(raw)
    if length > max_bytes:
        raise BadRequest(413, "request too large")
    return length


async def read_body(reader: asyncio.StreamReader, length: int) -> bytes:
    """Exactly ``length`` bytes within ``BODY_TIMEOUT_S``."""
    if length == 0:
        return b""
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            return await reader.readexactly(length)
    except TimeoutError:
        raise BadRequest(408, "the request body did not arrive in time") from None
    except asyncio.IncompleteReadError:
        raise BadRequest(400, "the request body is shorter than its Content-Length") from None


REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


def response_bytes(
    status: int, body: bytes, content_type: str, headers: dict[str, str], *, close: bool, head: bool = False
) -> bytes:
    """A whole HTTP/1.1 response (no body for HEAD, the length still given)."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    lines.append(f"Content-Length: {len(body)}")
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            continue
        lines.append(f"{name}: {value}")
    if close:
        lines.append("Connection: close")
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head_bytes if head else head_bytes + body
