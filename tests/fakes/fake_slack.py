"""A fake Slack Web API on 127.0.0.1 that records every call.

It answers the methods the bot uses (auth.test, chat.*, views.publish, files.info and
private downloads, the files_upload_v2 three-step upload, conversations.replies,
apps.connections.open) plus response_url posts, and can be told to answer the next N
calls of a method with HTTP 429 + Retry-After or with a Slack error code.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

BOT_TOKEN = "xoxb-test-0000-secret-bot-token"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
APP_TOKEN = "xapp-1-test-app-token"
TEAM = "T0001"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"

Answer = tuple[int, dict[str, Any], dict[str, str]]
"""HTTP status, JSON body, extra headers."""

SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


def sign(body: str | bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body``: HMAC-SHA256 over ``v0:{ts}:{body}``."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    raw: bytes = b""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    """A message the bot posted."""

    channel: str
    ts: str
    text: str
    thread_ts: str | None
    blocks: list[dict[str, Any]]
    user: str = BOT_USER
    metadata: dict[str, Any] | None = None
    """Message metadata (``event_type``, ``event_payload``) as chat.postMessage got it."""
    edits: int = 0
    """How often ``chat.update`` replaced this message."""


@dataclass
class Upload:
    """A file uploaded through files.getUploadURLExternal / upload / completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    content: bytes = b""
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class SharedFile:
    """A file a user shared, served by files.info and the private download route."""

    id: str
    name: str
    content: bytes
    mimetype: str = "text/plain"
    serve_as: str | None = None
    download_url: str | None = None
    size: int | None = None


class FakeSlack:
    """The fake Web API server. ``base_url`` (ending in ``/api/``) goes into SLACK_API_URL."""

    def __init__(self, bot_token: str = BOT_TOKEN, port: int = 0) -> None:
        self.bot_token = bot_token
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.uploads: dict[str, Upload] = {}
        self.files: dict[str, SharedFile] = {}
        self.responses: list[Call] = []
        self.socket_url: str | None = None
        self._failures: dict[str, list[Answer]] = {}
        self._delays: dict[str, list[float]] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._block_ids = itertools.count(1)
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    @property
    def root(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/"

    # -- scripting ------------------------------------------------------------------------

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})] * times
            )

    def delay_answer_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a posted message is in the thread at
        once) but hold the HTTP answer back ``seconds``: the caller dies in between in tests."""
        with self._lock:
            self._delays.setdefault(method, []).extend([seconds] * times)

    def take_delay(self, method: str) -> float:
        """How long to hold this call's answer (0: none scripted)."""
        with self._lock:
            queue = self._delays.get(method)
            return queue.pop(0) if queue else 0.0

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(200, {"ok": False, "error": error}, {})] * times)

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str = "text/plain",
        serve_as: str | None = None,
        download_url: str | None = None,
        size: int | None = None,
    ) -> str:
        """Register a shared file; returns its id. ``download_url`` overrides where files.info points."""
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.files[file_id] = SharedFile(file_id, name, content, mimetype, serve_as, download_url, size)
        return file_id

    def response_url(self, key: str = "r") -> str:
        """A response_url served by this fake."""
        return f"{self.root}/response/{key}-{next(self._ids)}"

    # -- reading what happened ---------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts]

    def thread_uploads(self, channel: str, thread_ts: str) -> list[Upload]:
        with self._lock:
            return [
                u for u in self.uploads.values() if u.completed and u.channel == channel and u.thread_ts == thread_ts
            ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        """Wait (bounded) until ``predicate()`` is truthy; returns its value or raises AssertionError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for {what}; calls: {[c.method for c in self.calls]}"
                    )
                self._lock.wait(min(left, 0.1))

    def wait_quiet(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Wait (bounded) until no call arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = max((c.at for c in self.calls), default=0.0)
            if time.monotonic() - last >= quiet:
                return
            time.sleep(min(quiet / 2, 0.1))
        raise AssertionError(f"calls kept arriving for {timeout} s")

    def everything_sent(self) -> str:
        """Every byte the bot sent to Slack (params, uploads, response_url posts), for leak checks."""
        with self._lock:
            parts = [json.dumps(c.params) + c.raw.decode("utf-8", "replace") for c in self.calls]
            parts += [u.content.decode("utf-8", "replace") for u in self.uploads.values()]
        return "\n".join(parts)

    # -- internals -----------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def _scripted(self, method: str) -> Answer | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _with_block_ids(self, blocks: list[Any]) -> list[Any]:
        """Blocks as Slack stores them: one without a ``block_id`` gets a generated one, so a
        click's payload names the block it came from (as Slack's always does)."""
        return [
            {**b, "block_id": f"gen{next(self._block_ids)}"} if isinstance(b, dict) and not b.get("block_id") else b
            for b in blocks
        ]

    def _next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.{next(self._ids):06d}"

    def answer(self, method: str, params: dict[str, Any], auth: str) -> Answer:
        """What Slack would answer: a scripted failure first, then the method's handler."""
        scripted = self._scripted(method)
        if scripted is not None:
            return scripted
        if method == "apps.connections.open":  # the only method called with the app-level token
            return self._apps_connections_open(params)
        if auth != f"Bearer {self.bot_token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = self._METHODS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return handler(self, params)

    # -- one handler per Web API method -----------------------------------------------------------

    def _apps_connections_open(self, params: dict[str, Any]) -> Answer:
        if not self.socket_url:
            return 200, {"ok": False, "error": "socket_mode_not_enabled"}, {}
        return 200, {"ok": True, "url": self.socket_url}, {}

    def _auth_test(self, params: dict[str, Any]) -> Answer:
        return (
            200,
            {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "team_id": TEAM,
                "user": "nginx-triage",
                "team": "Test",
                "url": "https://test.slack.com/",
            },
            {},
        )

    def _chat_post_message(self, params: dict[str, Any]) -> Answer:
        ts = self._next_ts()
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        blocks = self._with_block_ids(blocks)
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        msg = Message(
            str(params.get("channel")),
            ts,
            str(params.get("text") or ""),
            params.get("thread_ts") or None,
            blocks,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        with self._lock:
            self.messages.append(msg)
        return (
            200,
            {
                "ok": True,
                "channel": msg.channel,
                "ts": ts,
                "message": {"text": msg.text, "ts": ts, "thread_ts": msg.thread_ts, "bot_id": BOT_ID},
            },
            {},
        )

    def _chat_update(self, params: dict[str, Any]) -> Answer:
        """Replace a posted message's text and blocks, as Slack shows the edit."""
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        blocks = self._with_block_ids(blocks)
        with self._lock:
            msg = next(
                (m for m in self.messages if m.channel == str(params.get("channel")) and m.ts == params.get("ts")), None
            )
            if msg is None:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            msg.text = str(params.get("text") or "")
            msg.blocks = blocks
            msg.edits += 1
        return 200, {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}, {}

    def _ok(self, params: dict[str, Any]) -> Answer:
        return 200, {"ok": True}, {}

    def _files_info(self, params: dict[str, Any]) -> Answer:
        shared = self.files.get(str(params.get("file")))
        if shared is None:
            return 200, {"ok": False, "error": "file_not_found"}, {}
        url = shared.download_url or f"{self.root}/files-pri/{TEAM}-{shared.id}/download/{shared.name}"
        return (
            200,
            {
                "ok": True,
                "file": {
                    "id": shared.id,
                    "name": shared.name,
                    "title": shared.name,
                    "mimetype": shared.mimetype,
                    "filetype": "text",
                    "mode": "snippet" if shared.name.endswith(".txt") else "hosted",
                    "size": shared.size if shared.size is not None else len(shared.content),
                    "url_private": url,
                    "url_private_download": url,
                },
            },
            {},
        )

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> Answer:
        file_id = f"FUP{next(self._ids):06d}"
        with self._lock:
            self.uploads[file_id] = Upload(file_id, str(params.get("filename")), int(params.get("length") or 0))
        return 200, {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}, {}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> Answer:
        files = params.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        done = []
        with self._lock:
            for f in files or []:
                upload = self.uploads.get(f.get("id"))
                if upload is None:
                    return 200, {"ok": False, "error": "file_not_found"}, {}
                upload.title = f.get("title") or ""
                upload.channel = params.get("channel_id")
                upload.thread_ts = params.get("thread_ts")
                upload.completed = True
                done.append({"id": upload.file_id, "title": upload.title, "name": upload.filename})
        return 200, {"ok": True, "files": done}, {}

    def _conversations_replies(self, params: dict[str, Any]) -> Answer:
        msgs = self.thread_messages(str(params.get("channel")), str(params.get("ts")))
        with_metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        out = []
        for m in msgs:
            item: dict[str, Any] = {"ts": m.ts, "text": m.text, "thread_ts": m.thread_ts, "bot_id": BOT_ID}
            if with_metadata and m.metadata:
                item["metadata"] = m.metadata  # Slack returns metadata only when asked for it
            out.append(item)
        return 200, {"ok": True, "messages": out, "has_more": False}, {}

    def _conversations_history(self, params: dict[str, Any]) -> Answer:
        """Top-level messages of a channel, newest first (as Slack lists them)."""
        channel = str(params.get("channel"))
        with_metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        with self._lock:
            top = [m for m in self.messages if m.channel == channel and (not m.thread_ts or m.thread_ts == m.ts)]
        out = []
        for m in reversed(top):
            item: dict[str, Any] = {"ts": m.ts, "text": m.text, "bot_id": BOT_ID}
            if with_metadata and m.metadata:
                item["metadata"] = m.metadata
            out.append(item)
        return 200, {"ok": True, "messages": out[: int(params.get("limit") or 100)], "has_more": False}, {}

    _METHODS: ClassVar[dict[str, Callable[[FakeSlack, dict[str, Any]], Answer]]] = {
        "auth.test": _auth_test,
        "chat.postMessage": _chat_post_message,
        "chat.update": _chat_update,
        "chat.postEphemeral": _ok,
        "views.publish": _ok,
        "reactions.add": _ok,
        "files.info": _files_info,
        "files.getUploadURLExternal": _files_get_upload_url_external,
        "files.completeUploadExternal": _files_complete_upload_external,
        "conversations.replies": _conversations_replies,
        "conversations.history": _conversations_history,
    }
    """The Web API methods the fake answers (with the bot token), by name."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _params(self, raw: bytes, query: str) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(query))
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if raw and ctype == "application/json":
            params.update(json.loads(raw))
        elif raw and ctype == "application/x-www-form-urlencoded":
            params.update(dict(parse_qsl(raw.decode())))
        return params

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self._body())

    def _handle(self, raw: bytes) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        headers = dict(self.headers.items())
        path = parts.path
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            params = self._params(raw, parts.query)
            fake._record(Call(method, params, headers, raw))
            status, body, extra = fake.answer(method, params, headers.get("Authorization", ""))
            delay = fake.take_delay(method)
            if delay:
                time.sleep(delay)
            with contextlib.suppress(OSError):  # the caller may have died while the answer was held
                self._reply(status, json.dumps(body).encode(), headers=extra)
        elif path.startswith("/files-pri/"):
            fake._record(Call("file.download", {"path": path}, headers))
            file_id = path.split("/")[2].split("-", 1)[-1]
            shared = fake.files.get(file_id)
            if shared is None:
                self._reply(404, b"not found", "text/plain")
            elif headers.get("Authorization") != f"Bearer {fake.bot_token}":
                self._reply(200, SIGN_IN_PAGE, "text/html; charset=utf-8")
            else:
                self._reply(200, shared.content, shared.serve_as or shared.mimetype)
        elif path.startswith("/upload/"):
            file_id = path.split("/")[2]
            fake._record(Call("file.upload", {"file_id": file_id, "length": len(raw)}, headers, b""))
            with fake._lock:
                upload = fake.uploads.get(file_id)
                if upload is not None:
                    upload.content = raw
            self._reply(200 if upload else 404, f"OK - {len(raw)}".encode(), "text/plain")
        elif path.startswith("/response/"):
            params = self._params(raw, parts.query)
            call = Call("response_url", params, headers, raw)
            with fake._lock:
                fake.responses.append(call)
            fake._record(call)
            self._reply(200, b"ok", "text/plain")
        else:
            fake._record(Call("unknown", {"path": path}, headers, raw))
            self._reply(404, b"not found", "text/plain")


class ForeignHost:
    """A server that is not Slack: records whether anything (and which token) reached it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                outer.requests.append(dict(self.headers.items()))
                body = b"proxy_pass http://evil;\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # a response_url the bot must never follow would be POSTed to

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> ForeignHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"


def event_body(event: dict[str, Any], event_id: str, team: str = TEAM) -> str:
    """An Events API ``event_callback`` envelope as Slack sends it."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        }
    )


def form_body(fields: dict[str, str]) -> str:
    """A form-encoded body (slash commands)."""
    return urlencode(fields)


def payload_body(payload: dict[str, Any]) -> str:
    """An interactivity body: ``payload=<json>`` form-encoded (block_actions, shortcuts)."""
    return urlencode({"payload": json.dumps(payload)})


def find_buttons(messages: Iterable[Message], action_id: str) -> list[tuple[Message, dict[str, Any], dict[str, Any]]]:
    """(message, block, button) for every button that sends ``action_id`` in ``messages``.

    A plain button in an ``actions`` block matches by its action id; a half of Slack's feedback
    element (``feedback_buttons`` in a ``context_actions`` block) matches by the action id its
    ``value`` carries, or by the element's own action id, and comes back as
    ``{"type": "feedback_buttons", "action_id": <element's>, "value": ..., "text": ...}``: what
    ``slack_harness.block_action`` needs to send the click as Slack does.
    """
    out = []
    for msg in messages:
        for block in msg.blocks:
            for element in block.get("elements", []) if block.get("type") in ("actions", "context_actions") else []:
                if block["type"] == "actions" and element.get("action_id") == action_id:
                    out.append((msg, block, element))
                if block["type"] == "context_actions" and element.get("type") == "feedback_buttons":
                    for half in (element.get("positive_button") or {}, element.get("negative_button") or {}):
                        if action_id in (half.get("value"), element.get("action_id")):
                            clicked = {"type": "feedback_buttons", "action_id": element.get("action_id")}
                            out.append((msg, block, {**clicked, "value": half.get("value"), "text": half.get("text")}))
    return out
