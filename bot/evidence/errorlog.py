"""Parse one NGINX error-log line into prefix facts, message and request context.

People paste lines inside other lines: docker compose, the container runtime, journald,
init scripts, markdown quotes. The wrappers are peeled first, then the nginx prefix
(``ngx_log_error_core()``: time, level, pid#tid, *connection), then the context tail that
``ngx_http_log_error()`` appends (`` while ACTION``, ``, client: ...``). Every part is
optional: real pastes lose the date, the level or the end of the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINE_CHARS = 8192
"""nginx caps a line at 2048 bytes; wrappers add a little. Longer input is cut, never refused."""

LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")

_WRAPPERS = re.compile(
    r"""^(?:
        (?:[\s>`]|\*\*)+                                           # indentation, markdown quote/bold
      | [\w][\w.-]{0,62}\s*\|\s?                                  # docker compose "web_1  | "
      | \[pod/[^\]\s]{1,200}\]\s                                  # kubectl logs --prefix
      | \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+(?:(?:stdout|stderr)\s+[FP]\s+)?
      | \d{4}-\d\d-\d\d\ \d\d:\d\d:\d\d\.\d+\s+                   # s6-log timestamps
      | [A-Z][a-z]{2}\ [\d ]\d\ \d\d:\d\d:\d\d\ [\w.-]{1,64}\ [\w./@-]{1,64}(?:\[\d+\])?:?\s  # journald/syslog
      | (?:Starting|Restarting|Reloading|Stopping|Testing)\ [\w.-]{1,40}(?:\ configuration)?:\s
    )""",
    re.VERBOSE,
)

_PREFIX = re.compile(
    r"""^
    (?:(?P<time>\d{4}/\d\d/\d\d\ \d\d:\d\d:\d\d)\s+)?
    (?:nginx:\s+)?
    (?:\[?(?P<level>emerg|alert|crit|error|warn|notice|info|debug)\]:?\s+)?
    (?:(?P<pid>\d+)\s?\#\s?(?P<tid>\d+):\s*)?
    (?:\*\s?(?P<cid>\d+)\s+)?
    """,
    re.VERBOSE | re.IGNORECASE,
)

_ERRNO = re.compile(r"\((\d{1,5}):\s?([^)]{0,80})\)")
_CONTEXT = re.compile(
    r', (client|server|request|subrequest|upstream|host|referrer): ("(?:[^"\\]|\\.){0,2048}"|[^,]{0,512})'
)
_STREAM_BYTES = re.compile(r", bytes from/to (client|upstream):(\d+)/(\d+)")
_NGINX_DATE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")

CONTEXT_KEYS = ("client", "server", "request", "subrequest", "upstream", "host", "referrer")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed line. ``message`` is what KB regexes see: the text after the nginx prefix."""

    raw: str
    message: str
    time: str | None = None
    level: str | None = None
    pid: int | None = None
    tid: int | None = None
    cid: int | None = None
    errno: int | None = None
    errno_text: str | None = None
    action: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    console: bool = False

    @property
    def has_prefix(self) -> bool:
        """True when the line carried any part of the nginx prefix (date, level or pid)."""
        return self.time is not None or self.level is not None or self.pid is not None

    def facts(self) -> dict[str, str]:
        """Prefix and context facts as strings (the JSON ``facts`` shape)."""
        out: dict[str, str] = {}
        if self.time:
            out["time"] = self.time
        if self.level:
            out["level"] = self.level
        if self.pid is not None:
            out["pid"] = str(self.pid)
        if self.cid is not None:
            out["cid"] = str(self.cid)
        if self.errno is not None:
            out["errno"] = str(self.errno)
        if self.action:
            out["action"] = self.action
        out.update(self.context)
        return out


def strip_wrappers(line: str) -> str:
    """Remove the wrappers that log shippers and people add before the nginx line."""
    for _ in range(6):  # wrappers nest (compose + runtime timestamp + quote); bounded
        m = _WRAPPERS.match(line)
        if m is None or m.end() == 0:
            break
        line = line[m.end() :]
    return line


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value.strip()


def parse_context(message: str) -> tuple[str | None, dict[str, str]]:
    """Split `` while ACTION`` and the ``, client: ...`` tail into facts."""
    ctx: dict[str, str] = {}
    cut = message.find(", client: ")
    head = message if cut < 0 else message[:cut]
    if cut >= 0:
        for m in _CONTEXT.finditer(message, cut):
            key = m.group(1)
            if key not in ctx:
                ctx[key] = _unquote(m.group(2))
        if ", bytes from/to " in message:
            for m in _STREAM_BYTES.finditer(message, cut):
                ctx[f"bytes_{m.group(1)}"] = f"{m.group(2)}/{m.group(3)}"
    action: str | None = None
    w = head.rfind(" while ")
    if w >= 0:
        action = head[w + 7 :].strip().rstrip("$,") or None
    return action, ctx


def parse_line(raw: str) -> LogLine:
    """Parse a pasted line; never raises. Overlong lines are cut to ``MAX_LINE_CHARS``."""
    if len(raw) > MAX_LINE_CHARS:
        raw = raw[:MAX_LINE_CHARS]
    raw = raw.rstrip("\r\n")
    line = raw if _NGINX_DATE.match(raw) else strip_wrappers(raw)
    console = line.startswith("nginx: ")
    m = _PREFIX.match(line)
    assert m is not None  # every group is optional, so it always matches
    message = line[m.end() :].strip()
    errno = errno_text = None
    if "(" in message:
        em = _ERRNO.search(message)
        if em is not None:
            errno, errno_text = int(em.group(1)), em.group(2).strip()
    action, ctx = parse_context(message)
    level = m.group("level")
    return LogLine(
        raw=raw,
        message=message,
        time=m.group("time"),
        level=level.lower() if level else None,
        pid=int(m.group("pid")) if m.group("pid") else None,
        tid=int(m.group("tid")) if m.group("tid") else None,
        cid=int(m.group("cid")) if m.group("cid") else None,
        errno=errno,
        errno_text=errno_text,
        action=action,
        context=ctx,
        console=console,
    )
