"""Open-file limits as a process, a shell and systemd see them: ``/proc/PID/limits``, ``ulimit``,
``systemctl show``; and ``limits.conf`` lines, which services never read."""

from __future__ import annotations

from bot.evidence.limits.model import EvidenceError, ProcLimits, SystemdLimits, UlimitValues
from bot.evidence.limits.output import (
    COMMAND_FAILED,
    limit_value,
    output_lines,
    prompt_segments,
    quoted_start,
    refuse_command_error,
)
from bot.evidence.numbers import is_number
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_WORKER_LIMITS_CMD = "cat /proc/$(pgrep -f 'nginx: worker process' | head -1)/limits"

_LIMIT_NAMES = ("Max open files", "Max processes")
_LIMIT_ROW_LOOSE = lazy_compile(r"^(Max [a-z]+(?: [a-z]+){0,3})\s+(\S+)\s+(\S+)")
_PROC_PID = lazy_compile(r"/proc/([0-9]{1,20})/limits\b")


def _limits_row(line: str) -> tuple[str, str, str] | None:
    """Name, soft and hard of one row: fixed 25-column name, else collapsed whitespace."""
    if len(line) > 25 and line.startswith("Max "):
        name, rest = line[:25].strip(), line[25:].split()
        if name in _LIMIT_NAMES and len(rest) >= 2:
            return name, rest[0], rest[1]
    m = _LIMIT_ROW_LOOSE.match(line.strip())
    if m is not None and m.group(1) in _LIMIT_NAMES:
        return m.group(1), m.group(2), m.group(3)
    return None


def parse_proc_limits(text: str) -> ProcLimits:
    """Read ``Max open files`` and ``Max processes`` from a ``/proc/PID/limits`` table."""
    lines = output_lines(text)
    pid: int | None = None
    command: str | None = None
    found: dict[str, tuple[int | None, int | None]] = {}
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            if command is not None and found:
                break  # a second table: one process at a time
            command = cmd
            m = _PROC_PID.search(cmd)
            pid = int(m.group(1)) if m else None
            continue
        row = _limits_row(line)
        if row is None:
            continue
        name, soft, hard = row
        values = (
            limit_value(soft, f"{name} soft limit", _WORKER_LIMITS_CMD),
            limit_value(hard, f"{name} hard limit", _WORKER_LIMITS_CMD),
        )
        if name in found and found[name] != values:
            raise EvidenceError(say("evidence.limits_two_tables", row=name))
        found[name] = values
    if "Max open files" not in found:
        refuse_command_error(lines, _WORKER_LIMITS_CMD)
        raise EvidenceError(say("evidence.limits_no_nofile_row", start=quoted_start(text), command=_WORKER_LIMITS_CMD))
    nofile = found["Max open files"]
    nproc = found.get("Max processes")
    return ProcLimits(
        nofile[0],
        nofile[1],
        nproc[0] if nproc else None,
        nproc[1] if nproc else None,
        pid,
        nproc is not None,
        command,
    )


# --- ulimit ----------------------------------------------------------------------------------

_ULIMIT_NOFILE_ROW = lazy_compile(
    r"^(?:open files\b.{0,40}\((?:[^()]{0,40},\s*)?-n\)"  # bash, busybox: open files (-n) 1024
    r"|-n:\s+(?:file descriptors|open files)"  # zsh, old busybox: -n: file descriptors 1024
    r"|nofiles?(?:\(descriptors\))?)"  # dash: nofiles 1024
    r"\s+(\S+)$"
)
_ULIMIT_CMD = "ulimit -Sn; ulimit -Hn"


def _ulimit_flags(cmd: str) -> str | None:
    """Option letters given to ``ulimit`` in a command, or None when it is not ulimit."""
    words = cmd.replace(";", " ; ").replace("'", " ").replace('"', " ").split()
    if "ulimit" not in words:
        return None
    flags = ""
    for word in words[words.index("ulimit") + 1 :]:
        if not word.startswith("-"):
            break
        flags += word[1:]
    return flags


def parse_ulimit(text: str) -> UlimitValues:
    """Read the open-files limit from ``ulimit -n``/``-Sn``/``-Hn``/``-a`` output.

    Without a prompt, a bare number is taken as ``ulimit -n`` prints it: the soft limit.
    Several commands in one paste fill soft and hard; a later value wins.
    """
    lines = output_lines(text)
    values: dict[str, int | None] = {}
    for cmd, out in prompt_segments(lines):
        flags = "n" if cmd is None else _ulimit_flags(cmd)
        if flags is None:
            continue
        if not flags and out:
            raise EvidenceError(say("evidence.ulimit_without_n", command=_ULIMIT_CMD))
        which = "hard" if "H" in flags and "S" not in flags else "soft"
        for line in out:
            if line.startswith("ulimit:") or COMMAND_FAILED.search(line):
                raise EvidenceError(say("evidence.ulimit_failed", output=line[:120], command=_ULIMIT_CMD))
            row = _ULIMIT_NOFILE_ROW.match(line)
            if row is not None:
                values[which] = limit_value(row.group(1), "open files", _ULIMIT_CMD)
            elif "n" in flags and "a" not in flags and (is_number(line) or line == "unlimited") and len(out) == 1:
                values[which] = limit_value(line, "open files", _ULIMIT_CMD)
    if not values:
        raise EvidenceError(say("evidence.ulimit_no_nofile", start=quoted_start(text), command=_ULIMIT_CMD))
    return UlimitValues(values.get("soft"), values.get("hard"), "soft" in values, "hard" in values)


# --- systemctl show --------------------------------------------------------------------------

_SYSTEMD_LINE = lazy_compile(r"^([A-Z][A-Za-z0-9]*)=(.*)$")
_SYSTEMCTL_CMD = "systemctl show nginx -p LimitNOFILE -p LimitNOFILESoft"


def _unit_of(cmd: str) -> str | None:
    words = cmd.split()
    if "show" not in words:
        return None
    skip = False
    for word in words[words.index("show") + 1 :]:
        if skip:
            skip = False
        elif word in ("-p", "--property"):
            skip = True
        elif not word.startswith("-") and word not in ("|", "&&", ";"):
            return word if "." in word else f"{word}.service"
        elif word in ("|", "&&", ";"):
            break
    return None


def parse_systemctl_show(text: str) -> SystemdLimits:
    """Read ``LimitNOFILE=`` (hard) and ``LimitNOFILESoft=`` from ``systemctl show`` output."""
    lines = output_lines(text)
    unit: str | None = None
    props: dict[str, str] = {}
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            unit = _unit_of(cmd) or unit
            continue
        m = _SYSTEMD_LINE.match(line.strip())
        if m is not None:
            props[m.group(1)] = m.group(2).strip()
    unit = props.get("Id") or unit
    if props.get("LoadState") == "not-found":
        raise EvidenceError(say("evidence.systemd_no_unit", unit=unit or "by that name"))
    if "LimitNOFILE" not in props:
        refuse_command_error(lines, _SYSTEMCTL_CMD)
        raise EvidenceError(say("evidence.systemd_no_limit", start=quoted_start(text), command=_SYSTEMCTL_CMD))
    hard = limit_value(props["LimitNOFILE"], "LimitNOFILE", _SYSTEMCTL_CMD)
    soft_known = "LimitNOFILESoft" in props
    soft = limit_value(props["LimitNOFILESoft"], "LimitNOFILESoft", _SYSTEMCTL_CMD) if soft_known else None
    return SystemdLimits(hard, soft, unit, soft_known)
