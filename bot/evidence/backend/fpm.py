"""php-fpm pool settings (``grep -HnE '^(pm|listen)' .../pool.d/*.conf``, ``php-fpm -tt``) and its ``ps``."""

from __future__ import annotations

from bot.evidence.backend.model import FpmPools, FpmProcess, FpmSetting
from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines, refuse_command_error
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

POOL_COMMAND = "grep -HnE '^\\s*(pm|listen)' /etc/php/*/fpm/pool.d/*.conf"
PS_COMMAND = "ps -eo pid,ppid,user,rss,cmd | grep '[p]hp-fpm'"

_KEY = r"(?P<key>(?:pm|listen)(?:\.[a-z_]{1,40}){0,2})"
_VALUE = r"(?P<value>[^;\r\n]{0,1024}?)"
# /etc/php/8.2/fpm/pool.d/www.conf:127:pm.max_children = 5   (grep -Hn; -H alone has no line)
_GREP = lazy_compile(
    r"^(?:(?P<file>/[^:\s]{1,1024}):(?:(?P<line>[0-9]{1,7}):)?)?(?P<text>\s*" + _KEY + r"\s*=\s*" + _VALUE + r"\s*)$"
)
# [02-Dec-2026 06:16:10] NOTICE: 	pm.max_children = 5
_TT_PREFIX = lazy_compile(r"^\[[0-9]{2}-[A-Za-z]{3}-[0-9]{4} [0-9:]{8}\] NOTICE:\s?")
_TT_POOL = lazy_compile(r"^\[(?P<pool>[^\]\s]{1,64})\]$")
_TT_SETTING = lazy_compile(r"^" + _KEY + r"\s*=\s*" + _VALUE + r"\s*$")
_PS_ROW = lazy_compile(
    r"^(?P<cols>(?:\S{1,64}\s+){0,12}?)php-fpm(?:[0-9.]{0,6})?: (?P<role>master process|pool (?P<pool>\S{1,64}))"
)
_PS_NUMBER = lazy_compile(r"^[0-9]{1,10}$")


def _tt_settings(lines: list[str]) -> list[FpmSetting]:
    out: list[FpmSetting] = []
    pool: str | None = None
    for line in lines:
        m = _TT_PREFIX.match(line.strip())
        if m is None:
            continue
        body = line.strip()[m.end() :].strip()
        head = _TT_POOL.match(body)
        if head is not None:
            pool = None if head.group("pool") == "global" else head.group("pool")
            continue
        s = _TT_SETTING.match(body)
        if s is not None and pool is not None:
            out.append(FpmSetting(pool, s.group("key"), s.group("value").strip()))
    return out


def parse_fpm_pools(text: str) -> FpmPools:
    """The ``pm*`` and ``listen*`` settings, from the pool files or from ``php-fpm -tt``."""
    lines = output_lines(text)
    tt = _tt_settings(lines)
    if tt:
        return FpmPools(tuple(tt), "tt")
    out: list[FpmSetting] = []
    for line in lines:
        if prompt_command(line) is not None:
            continue
        m = _GREP.match(line.rstrip())
        if m is None:
            continue
        number = m.group("line")
        where = (m.group("file"), int(number), m.group("text")) if number else (m.group("file"), None, None)
        out.append(FpmSetting(None, m.group("key"), m.group("value").strip(), *where))
    if out:
        return FpmPools(tuple(out), "grep")
    refuse_command_error(lines, POOL_COMMAND)
    raise EvidenceError(say("evidence.no_fpm_settings", command=POOL_COMMAND))


def _ps_columns(header: list[str] | None, cols: list[str]) -> tuple[int | None, int | None, str | None, int | None]:
    """pid, ppid, user, rss from the columns before the command (by header, else by shape)."""
    if header is not None and len(cols) >= len(header) - 1:
        named = dict(zip(header, cols, strict=False))
        num = {k: int(v) for k, v in named.items() if _PS_NUMBER.match(v)}
        return num.get("PID"), num.get("PPID"), named.get("USER"), num.get("RSS")
    numbers = [c for c in cols if _PS_NUMBER.match(c)]
    words = [c for c in cols if not _PS_NUMBER.match(c)]
    pid = int(numbers[0]) if numbers else None
    ppid = int(numbers[1]) if len(numbers) > 1 else None
    return pid, ppid, words[0] if words else None, None


def parse_fpm_ps(text: str) -> list[FpmProcess]:
    """php-fpm's master and pool children from ``ps`` (any columns before the command)."""
    lines = output_lines(text)
    header: list[str] | None = None
    out: list[FpmProcess] = []
    for line in lines:
        if prompt_command(line) is not None:
            continue
        words = line.split()
        if "PID" in words and words[-1] in ("CMD", "COMMAND", "ARGS"):
            header = words[:-1]
            continue
        m = _PS_ROW.match(line.strip())
        if m is None:
            continue
        pid, ppid, user, rss = _ps_columns(header, m.group("cols").split())
        if pid is None:
            continue
        role = "master" if m.group("role") == "master process" else "pool"
        out.append(FpmProcess(pid, ppid, user, role, m.group("pool"), rss))
    if out:
        return out
    refuse_command_error(lines, PS_COMMAND)
    raise EvidenceError(say("evidence.no_fpm_process", command=PS_COMMAND))
