"""Structured JSON logs with the Slack thread as context; secrets never reach a log line.

Three layers keep pasted text out: nothing of ours logs user text (only ids, kinds, sizes);
Bolt's messages that embed a request payload are cut before it (``WithholdPayloads``); and
every string a line carries goes through the intake redaction and the configured secrets
are scrubbed (``JsonFormatter``), in case a library puts one in an exception.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.evidence.redaction import redact_intake
from bot.lazy_re import lazy_compile

log_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("slack_log_context", default=None)
"""Fields added to every log line emitted while handling one turn (thread, event_id, …)."""

_TOKEN_RE = lazy_compile(r"\b(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}
_PAYLOAD_MARKERS = ("body: ", "Request body: ", "request body: ", "for the request (", "Unhandled request (")
"""Where Bolt's messages start quoting a request's payload (Bolt 1.x wording)."""


class WithholdPayloads(logging.Filter):
    """Cut Bolt's log messages before the request payload they quote, keeping the words before it
    and the payload's size. Installed on the base logger Bolt copies to all of its loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for marker in _PAYLOAD_MARKERS:
            at = message.find(marker)
            if at >= 0:
                cut = at + len(marker)
                record.msg = f"{message[:cut]}[payload withheld, {len(message) - cut} characters]"
                record.args = ()
                break
        return True


@contextlib.contextmanager
def logging_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line in this block (and nested blocks)."""
    merged = dict(log_context.get() or {})
    merged.update({k: v for k, v in fields.items() if v is not None})
    token = log_context.set(merged)
    try:
        yield
    finally:
        log_context.reset(token)


MAX_FRAMES = 8


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """An exception as data: its type, message and innermost frames (``file:line function``),
    never a multi-line traceback a log shipper splits apart or that quotes source lines."""
    frames = traceback.extract_tb(exc.__traceback__)[-MAX_FRAMES:]
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "frames": [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames],
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extra fields."""

    def __init__(self, secrets: Sequence[str] = (), fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= 4)
        self._fields = dict(fields or {})

    def scrub(self, text: str) -> str:
        """Remove configured secrets and anything shaped like a Slack token."""
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return _TOKEN_RE.sub("[secret]", text)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact_intake(value).text
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        return value

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(self._fields)
        data.update(log_context.get() or {})
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                data[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            data["exc"] = exception_fields(record.exc_info[1])
        data = {key: self._clean(value) for key, value in data.items()}
        return self.scrub(json.dumps(data, default=str, ensure_ascii=False))


def configure_logging(
    secrets: Sequence[str] = (), level: int = logging.INFO, fields: Mapping[str, Any] | None = None
) -> None:
    """Send every log record (ours, Bolt's, slack_sdk's) to stderr as JSON lines; ``fields``
    go on every line (a worker process adds its number)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets, fields))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    threading.excepthook = _log_thread_exception
    # slack_sdk logs full request bodies at DEBUG; keep it quieter than our own lines.
    logging.getLogger("slack_sdk").setLevel(max(level, logging.INFO))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """An exception that escaped a thread: one JSON line (not Python's raw traceback on stderr)."""
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    logging.getLogger("nginx_triage.slack").error(
        "a thread stopped on an unexpected error",
        extra={"thread": args.thread.name if args.thread else None, "exc": exception_fields(args.exc_value)},
    )
