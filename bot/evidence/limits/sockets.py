"""Sockets in use on the host: ``ss -s`` and ``ss -tan state established | wc -l``."""

from __future__ import annotations

from bot.evidence.limits.model import EvidenceError, SocketSummary
from bot.evidence.limits.output import output_lines, quoted_start, refuse_command_error, single_number
from bot.lazy_re import lazy_compile

_COUNT_VALUE = lazy_compile(r"^([0-9]{1,19})$")


def parse_ss_count(text: str) -> int:
    """The number printed by ``ss -tan state established | wc -l`` (it counts ss's header line too)."""
    return single_number(text, _COUNT_VALUE, "ss -tan state established | wc -l", "a socket count")


_SS_TOTAL = lazy_compile(r"^Total:\s+([0-9]{1,20})")
_SS_TCP = lazy_compile(r"^TCP:\s+([0-9]{1,20})\s+\((.*)\)")
_SS_PAIR = lazy_compile(r"\b([a-z]+) ([0-9]{1,20})")
_SS_CMD = "ss -s"


def parse_ss_summary(text: str) -> SocketSummary:
    """Read the ``Total:`` and ``TCP:`` lines of ``ss -s``."""
    lines = output_lines(text)
    total: int | None = None
    tcp: tuple[int, dict[str, int]] | None = None
    for line in lines:
        s = line.strip()
        m = _SS_TOTAL.match(s)
        if m is not None:
            total = int(m.group(1))
            continue
        m = _SS_TCP.match(s)
        if m is not None:
            tcp = int(m.group(1)), {k: int(v) for k, v in _SS_PAIR.findall(m.group(2))}
    if tcp is None:
        refuse_command_error(lines, _SS_CMD)
        raise EvidenceError(
            f"no 'TCP:   N (estab ..., closed ..., orphaned ..., timewait ...)' line in {quoted_start(text)}: "
            f"paste the whole output of `{_SS_CMD}`"
        )
    counts = tcp[1]
    missing = [k for k in ("estab", "closed", "orphaned", "timewait") if k not in counts]
    if missing:
        raise EvidenceError(
            f"the TCP: line of ss -s lacks {', '.join(missing)}: paste the line as `{_SS_CMD}` prints it"
        )
    return SocketSummary(total, tcp[0], counts["estab"], counts["closed"], counts["orphaned"], counts["timewait"])
