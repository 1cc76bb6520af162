"""Parse one NGINX error-log line into prefix facts, message and request context.

People paste lines inside other lines: docker compose, the container runtime, journald,
init scripts, markdown quotes. The wrappers are peeled first, then the nginx prefix
(``ngx_log_error_core()``: time, level, pid#tid, *connection), then the context tail that
``ngx_http_log_error()`` appends (`` while ACTION``, ``, client: ...``). Every part is
optional: real pastes lose the date, the level or the end of the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.evidence.numbers import is_number

MAX_LINE_CHARS = 8192
"""nginx caps a line at 2048 bytes; wrappers add a little. Longer input is cut, never refused."""

LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")

_WRAPPERS = re.compile(
    r"""^(?:
        (?:[\s>`]|\*\*)+                                           # indentation, markdown quote/bold
      | [\w][\w.-]{0,62}\s*\|\s?                                  # docker compose "web_1  | "
      | \[pod/[^\]\s]{1,200}\]\s                                  # kubectl logs --prefix
      | [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,20})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?\s+
        (?:(?:stdout|stderr)\s+[FP]\s+)?
      | [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,20}\s+  # s6-log timestamps
      | [A-Z][a-z]{2}\ [0-9 ][0-9]\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ [\w.-]{1,64}\ [\w./@-]{1,64}(?:\[[0-9]{1,20}\])?:?\s
        # journald/syslog
      | [\w.-]{1,64}\ [\w./@-]{1,64}\[[0-9]{1,20}\]:\s  # syslog without a time: "host nginx[12]: "
      | (?:Starting|Restarting|Reloading|Stopping|Testing)\ [\w.-]{1,40}(?:\ configuration)?:\s
    )""",
    re.VERBOSE,
)

_PREFIX = re.compile(
    r"""^
    (?:(?P<time>[0-9]{4}/[0-9][0-9]/[0-9][0-9]\ [0-9][0-9]:[0-9][0-9]:[0-9][0-9])\s+)?
    (?:nginx:\s+)?
    (?:\[?(?P<level>emerg|alert|crit|error|warn|notice|info|debug)\]:?\s+)?
    (?:(?P<pid>[0-9]{1,20})\s?\#\s?(?P<tid>[0-9]{1,20}):\s*)?
    (?:\*\s?(?P<cid>[0-9]{1,20})\s+)?
    """,
    re.VERBOSE | re.IGNORECASE,
)

# nginx writes "(%d: %s)"; the space tells errno from "(20:unable to get ...)" TLS codes.
# A paste cut inside the parenthesis still carries the number.
_ERRNO = re.compile(r"\(([0-9]{1,5}): ([^)]{0,80})(?:\)|$)")
_STREAM_BYTES = re.compile(r", bytes from/to (client|upstream):([0-9]{1,20})/([0-9]{1,20})")
_NGINX_DATE = re.compile(r"^[0-9]{4}/[0-9][0-9]/[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] ")

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


_CONTEXT_MARKERS = tuple((key, f", {key}: ") for key in CONTEXT_KEYS)


def _context_value(message: str, start: int) -> str:
    """The value starting at ``start``: a quoted string (with escapes) or text up to ", "."""
    if message.startswith('"', start):
        end = start + 1
        while True:
            end = message.find('"', end)
            if end < 0:
                return message[start + 1 :]
            if message[end - 1] != "\\":
                return message[start + 1 : end]
            end += 1
    end = message.find(", ", start)
    return (message[start:] if end < 0 else message[start:end]).strip()


def parse_context(message: str) -> tuple[str | None, dict[str, str]]:
    """Split `` while ACTION`` and the ``, client: ...`` tail into facts.

    Plain ``find`` calls, not a regex: this runs for every line of a million-line log.
    """
    ctx: dict[str, str] = {}
    cut = message.find(", client: ")
    head = message if cut < 0 else message[:cut]
    if cut >= 0:
        for key, marker in _CONTEXT_MARKERS:
            at = message.find(marker, cut)
            if at >= 0:
                ctx[key] = _context_value(message, at + len(marker))
        if ", bytes from/to " in message:
            for m in _STREAM_BYTES.finditer(message, cut):
                ctx[f"bytes_{m.group(1)}"] = f"{m.group(2)}/{m.group(3)}"
    action: str | None = None
    w = head.rfind(" while ")
    if w >= 0:
        action = head[w + 7 :].strip().rstrip("$,") or None
    return action, ctx


_LEVEL_SET = frozenset(LEVELS)


def _parse_standard(raw: str) -> LogLine | None:
    """Fast path for the common, unwrapped ``YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid`` line."""
    end = raw.find("] ", 21, 30)
    if end < 0 or raw[21:end] not in _LEVEL_SET:
        return None
    start = end + 2
    hash_at = raw.find("#", start, start + 12)
    colon = raw.find(": ", hash_at, hash_at + 22) if hash_at > 0 else -1
    if colon < 0:
        return None
    pid, tid = raw[start:hash_at], raw[hash_at + 1 : colon]
    if not (is_number(pid) and is_number(tid)):
        return None
    pos = colon + 2
    cid = None
    if raw.startswith("*", pos):
        space = raw.find(" ", pos)
        if space > 0 and is_number(raw[pos + 1 : space]):
            cid = int(raw[pos + 1 : space])
            pos = space + 1
    return _finish(raw, raw[pos:].strip(), raw[:19], raw[21:end], int(pid), int(tid), cid, False)


def _finish(
    raw: str,
    message: str,
    time: str | None,
    level: str | None,
    pid: int | None,
    tid: int | None,
    cid: int | None,
    console: bool,
) -> LogLine:
    errno = errno_text = None
    paren = message.find("(")
    if paren >= 0:
        em = _ERRNO.search(message, paren)
        if em is not None:
            errno, errno_text = int(em.group(1)), em.group(2).strip()
    action, ctx = parse_context(message)
    return LogLine(raw, message, time, level, pid, tid, cid, errno, errno_text, action, ctx, console)


PARSED_ONCE_BOUND = 20_000
"""Lines one ``parsing_once`` scope remembers (a 2 MB upload of short lines holds about this many)."""

_PARSED: ContextVar[dict[str, LogLine] | None] = ContextVar("nginx_triage_parsed_once", default=None)


@contextmanager
def parsing_once() -> Iterator[None]:
    """Within this block (a conversation turn), a line already parsed is not parsed again.

    Reading a paste parses each line twice otherwise: the sniffer parses every line to see
    whether it carries nginx's prefix, then the matcher parses each error-log line to match
    it. ``LogLine`` is immutable, so the matcher can take the sniffer's. The memo belongs to
    the block (and to its thread or task), is bounded by ``PARSED_ONCE_BOUND`` and dropped
    at its end: nothing outlives the turn.
    """
    token = _PARSED.set({})
    try:
        yield
    finally:
        _PARSED.reset(token)


def parse_line(raw: str) -> LogLine:
    """Parse a pasted line; never raises. Overlong lines are cut to ``MAX_LINE_CHARS``.
    Inside ``parsing_once`` a line seen before comes from its memo."""
    memo = _PARSED.get()
    if memo is None:
        return _parse_line(raw)
    line = memo.get(raw)
    if line is None:
        line = _parse_line(raw)
        if len(memo) < PARSED_ONCE_BOUND:
            memo[raw] = line
    return line


def _parse_line(raw: str) -> LogLine:
    if len(raw) > MAX_LINE_CHARS:
        raw = raw[:MAX_LINE_CHARS]
    raw = raw.rstrip("\r\n")
    if len(raw) > 30 and raw[4] == "/" and raw[19] == " " and raw[20] == "[":
        fast = _parse_standard(raw)
        if fast is not None:
            return fast
    line = raw if _NGINX_DATE.match(raw) else strip_wrappers(raw)
    m = _PREFIX.match(line)
    assert m is not None  # every group is optional, so it always matches
    level = m.group("level")
    pid, tid, cid = m.group("pid"), m.group("tid"), m.group("cid")
    return _finish(
        raw,
        line[m.end() :].strip(),
        m.group("time"),
        level.lower() if level else None,
        int(pid) if pid else None,
        int(tid) if tid else None,
        int(cid) if cid else None,
        line.startswith("nginx: "),
    )
