"""Is the ``(N: text)`` in a line an errno that nginx appended after a failed system call?

nginx writes `` (%d: %s)`` with ``strerror()`` after a message when a system call failed
(``ngx_log_error_core``). Other numbers in the same shape are not errnos and must not be
read as one (``(20: ...)`` would be ENOTDIR, ``(2: ...)`` ENOENT):

* OpenSSL certificate verify results: ``lua ssl certificate verify error: (20: unable to
  get local issuer certificate)``, ``upstream SSL certificate verify error: (20:...)``;
* resolver and OCSP codes that are part of nginx's own text: ``could not be resolved
  (3: Host not found)``, ``DNS error (2: ...)``, ``OCSP response not successful (6: ...)``;
* text relayed from somewhere else: a Lua script's ``ngx.log`` line (``[lua] x.lua:12:
  ...``), an njs script (``js: ...``, ``js exception: ...``), a FastCGI backend's stderr,
  ModSecurity's messages.

The parser (``bot.evidence.errorlog``) takes the first ``(N: text)`` as ``errno``; the
matcher asks this module whether to believe it.
"""

from __future__ import annotations

import re

from bot.evidence.errorlog import LogLine
from bot.lazy_re import lazy_compile

# Text right before the "(" that makes the number something other than an errno: an
# OpenSSL verify result (misleading as an errno, dropped from the facts too) or a DNS/OCSP
# result code (kept as the ``errno`` fact: resolver-failed reads it as the DNS answer).
_CODE_BEFORE = lazy_compile(r"(?:could not be resolved|DNS error|not successful)\s{0,2}$", re.IGNORECASE)
# Messages whose text comes from a script, a backend or a library, not from nginx's own call.
_RELAYED = lazy_compile(
    r"^(?:stream )?(?:\[lua\]|lua |js(?: exception)?: |js http |FastCGI sent in stderr|"
    r"\[client [^\]]{1,64}\] ModSecurity|ModSecurity|PHP message: |\S{1,64} sent in stderr)",
    re.IGNORECASE,
)
_BEFORE_WINDOW = 40


_RELAYED_START = ("[lua]", "stream [lua]", "lua ", "js", "fastcgi", "php message: ", "modsecurity", "[client ")


def errno_kind(line: LogLine) -> str:
    """``syscall``, ``code`` (DNS/OCSP result), ``verify`` (OpenSSL) or ``relayed``; ``none`` without a number.

    Runs for every line with a number in parentheses, so plain substring tests decide first
    and a regex runs only when one of them hits.
    """
    if line.errno is None:
        return "none"
    message = line.message
    start = message[:24].lower()
    if (start.startswith(_RELAYED_START) or " sent in stderr" in message[:80]) and _RELAYED.match(message):
        return "relayed"
    at = message.find(f"({line.errno}:")
    if at > 0:
        before = message[max(0, at - _BEFORE_WINDOW) : at].lower()
        if "verify error" in before:
            return "verify"
        if ("resolved" in before or "dns error" in before or "not successful" in before) and _CODE_BEFORE.search(
            message, max(0, at - _BEFORE_WINDOW), at
        ):
            return "code"
    return "syscall"


def syscall_errno(line: LogLine) -> int | None:
    """The line's errno when it really is one, else None."""
    return line.errno if errno_kind(line) == "syscall" else None


def errno_fact_misleads(line: LogLine) -> bool:
    """True when the ``errno`` fact would name a C-library error the line does not report."""
    return errno_kind(line) in ("verify", "relayed")
