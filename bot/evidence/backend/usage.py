"""CPU time and share per process from ``ps`` with ``TIME`` / ``%CPU`` (and ``RSS``) columns."""

from __future__ import annotations

from dataclasses import dataclass

from bot.evidence.backend.model import ProcessUsage
from bot.evidence.limits.model import NginxProcess
from bot.evidence.limits.output import output_lines
from bot.evidence.limits.processes import parse_ps
from bot.evidence.sections.prompts import prompt_command
from bot.lazy_re import lazy_compile

_ROLE = lazy_compile(r"nginx: (master|worker|cache manager|cache loader) process")
_TIME = lazy_compile(r"^(?:(?P<d>[0-9]{1,4})-)?(?:(?P<h>[0-9]{1,4}):)?(?P<m>[0-9]{1,4}):(?P<s>[0-9]{2})$")
_INT = lazy_compile(r"^[0-9]{1,12}$")
_FLOAT = lazy_compile(r"^[0-9]{1,4}(?:\.[0-9]{1,3})?$")


def cpu_seconds(token: str) -> int | None:
    """``[[DD-]HH:]MM:SS`` (ps TIME) as seconds."""
    m = _TIME.match(token)
    if m is None:
        return None
    days, hours = int(m.group("d") or 0), int(m.group("h") or 0)
    return ((days * 24 + hours) * 60 + int(m.group("m"))) * 60 + int(m.group("s"))


def parse_ps_usage(text: str) -> list[ProcessUsage]:
    """Every row whose header names ``TIME`` or ``%CPU`` (none when the columns are not there)."""
    header: list[str] | None = None
    out: list[ProcessUsage] = []
    for line in output_lines(text):
        if prompt_command(line) is not None:
            header = None
            continue
        words = line.split()
        if "PID" in words and words[-1] in ("CMD", "COMMAND", "ARGS"):
            header = words[:-1] if ("TIME" in words or "%CPU" in words) else None
            continue
        if header is None or len(words) <= len(header):
            continue
        named = dict(zip(header, words, strict=False))
        pid = named.get("PID", "")
        if not _INT.match(pid):
            continue
        cmd = " ".join(words[len(header) :])
        role = _ROLE.search(cmd)
        time_text, cpu_text, rss_text = named.get("TIME", ""), named.get("%CPU", ""), named.get("RSS", "")
        out.append(
            ProcessUsage(
                pid=int(pid),
                role=role.group(1) if role else "other",
                cpu_seconds=cpu_seconds(time_text) if time_text else None,
                cpu_percent=float(cpu_text) if _FLOAT.match(cpu_text) else None,
                rss_kb=int(rss_text) if _INT.match(rss_text) else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class NginxPs:
    """One ``ps`` paste of nginx: the processes and roles, and their CPU use when shown."""

    processes: list[NginxProcess]
    usage: list[ProcessUsage]


def read_nginx_ps(text: str) -> NginxPs:
    """``parse_ps`` (which raises for a paste without nginx) plus the TIME / %CPU columns."""
    return NginxPs(parse_ps(text), parse_ps_usage(text))
