"""Access-log lines in nginx's ``combined`` format, with extra fields after it tolerated.

``$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$referer"
"$user_agent"``, often followed by ``$request_time $upstream_response_time`` (or
``rt=0.500 urt="0.500"`` key=value pairs). The times are read when present: the first bare
number after the user agent is the request time, the second the upstream's (``-`` when no
upstream was asked; ``0.500, 0.250`` when several were tried, summed).
"""

from __future__ import annotations

import re

from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines
from bot.evidence.sections.prompts import prompt_command
from bot.evidence.system.model import AccessEntry, AccessLog
from bot.evidence.system.shapes import ACCESS_LINE as LINE
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

ACCESS_COMMAND = "tail -n 200 /var/log/nginx/access.log"
MAX_ENTRIES = 100_000
"""More requests than this are counted as skipped: a summary needs no more."""

_REQUEST = lazy_compile(r"^(?P<method>[A-Z]{1,16}) (?P<target>\S{1,8192})(?: HTTP/[0-9.]{1,3})?$")
_TIME = lazy_compile(r"^(?:[a-z_]{1,32}=)?\"?(?P<v>[0-9]{1,9}\.[0-9]{1,6}(?:, ?[0-9]{1,9}\.[0-9]{1,6}){0,9}|-)\"?$")
"""``1.001``, ``rt=1.001``, ``urt="0.500"``, ``0.500, 0.250`` (two upstreams tried), ``-``."""


def _seconds(token: str) -> float | None:
    if token == "-":
        return None
    return round(sum(float(part) for part in token.replace(" ", "").split(",")), 3)


def _times(rest: str) -> tuple[float | None, float | None, bool]:
    """(request time, upstream time, whether any time field was there) from what follows the agent."""
    found: list[str] = []
    for token in re.split(r"(?<!,) ", rest.strip())[:16]:
        m = _TIME.match(token.strip())
        if m is not None:
            found.append(m.group("v"))
    if not found:
        return None, None, False
    request = _seconds(found[0])
    upstream = _seconds(found[1]) if len(found) > 1 else None
    return request, upstream, True


def parse_access_line(line: str) -> AccessEntry | None:
    """One request from one access-log line, or None for a line in another format."""
    m = LINE.match(line.strip()[:16384])
    if m is None:
        return None
    req = _REQUEST.match(m.group("request"))
    method, target = (req.group("method"), req.group("target")) if req else ("", m.group("request")[:200] or "-")
    size = m.group("bytes")
    request_time, upstream_time, _ = _times(m.group("rest"))
    return AccessEntry(
        method=method,
        path=target.split("?", 1)[0],
        status=int(m.group("status")),
        bytes_sent=int(size) if size != "-" else None,
        request_time=request_time,
        upstream_time=upstream_time,
    )


def parse_access_log(text: str) -> AccessLog:
    """Every request line of the paste (the query string is dropped: it may hold a token)."""
    entries: list[AccessEntry] = []
    skipped = 0
    for line in output_lines(text):
        if prompt_command(line) is not None:
            continue
        entry = parse_access_line(line)
        if entry is None or len(entries) >= MAX_ENTRIES:
            skipped += 1
            continue
        entries.append(entry)
    if not entries:
        raise EvidenceError(say("host.no_access_log", command=ACCESS_COMMAND))
    return AccessLog(tuple(entries), skipped)
