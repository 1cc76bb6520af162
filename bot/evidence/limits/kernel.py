"""What the kernel allows and the CPUs nginx sees: ``sysctl fs.*``, ``/proc/sys/fs/file-nr``, ``nproc``."""

from __future__ import annotations

import re

from bot.evidence.limits.model import CpuCount, EvidenceError, FileNr, KernelLimits
from bot.evidence.limits.output import (
    count_value,
    output_lines,
    prompt_segments,
    quoted_start,
    refuse_command_error,
    single_number,
)
from bot.evidence.numbers import is_number
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_SYSCTL_LINE = lazy_compile(r"^([\w./-]+)\s*[=:]\s*(\S+)$")
_SYSCTL_KEYS = {"fs.nr_open": "nr_open", "fs.file-max": "file_max"}
_SYSCTL_CMD = "sysctl fs.nr_open fs.file-max"
_SYSCTL_WORD = lazy_compile(r"^(?:/proc/sys/)?[a-z]+[./][\w./-]+$")


def _sysctl_key(word: str) -> str:
    """``/proc/sys/fs/nr_open`` and ``fs/nr_open`` are the same key as ``fs.nr_open``."""
    return word.removeprefix("/proc/sys/").replace("/", ".")


def parse_sysctl(text: str) -> KernelLimits:
    """Read ``fs.nr_open`` and ``fs.file-max`` from ``sysctl`` or ``cat /proc/sys/fs/...`` output."""
    lines = output_lines(text)
    found: dict[str, int] = {}
    for cmd, out in prompt_segments(lines):
        # `sysctl -n a b` and `cat /proc/sys/fs/x` print bare values, in the order asked
        asked = [] if cmd is None else [_sysctl_key(w) for w in cmd.split() if _SYSCTL_WORD.match(w)]
        bare = 0
        for line in out:
            m = _SYSCTL_LINE.match(line)
            if m is not None:
                key = _sysctl_key(m.group(1))
                if key in _SYSCTL_KEYS:
                    found[_SYSCTL_KEYS[key]] = count_value(m.group(2), key, _SYSCTL_CMD)
            elif is_number(line) and bare < len(asked):
                key = asked[bare]
                bare += 1
                if key in _SYSCTL_KEYS:
                    found[_SYSCTL_KEYS[key]] = count_value(line, key, _SYSCTL_CMD)
    if not found:
        refuse_command_error(lines, _SYSCTL_CMD)
        raise EvidenceError(say("evidence.sysctl_no_limits", start=quoted_start(text), command=_SYSCTL_CMD))
    return KernelLimits(found.get("nr_open"), found.get("file_max"))


_FILE_NR_CMD = "cat /proc/sys/fs/file-nr"


def parse_file_nr(text: str) -> FileNr:
    """Read the three numbers of ``/proc/sys/fs/file-nr`` (tabs, or spaces after a chat client)."""
    lines = output_lines(text)
    rows = [line.split() for line in lines if prompt_command(line) is None]
    triples = [row for row in rows if len(row) == 3 and all(w.isascii() and is_number(w) for w in row)]
    if len(triples) != 1:
        refuse_command_error(lines, _FILE_NR_CMD)
        what = "several lines of three numbers" if triples else f"no line of three numbers in {quoted_start(text)}"
        raise EvidenceError(f"{what}: paste the one line `{_FILE_NR_CMD}` prints (allocated, unused, max)")
    allocated, unused, maximum = (int(w) for w in triples[0])
    return FileNr(allocated, unused, maximum)


_NPROC_VALUE = lazy_compile(r"^(?:nproc:\s*)?([0-9]{1,7})$")


def parse_nproc(text: str) -> int:
    """The CPU count from ``nproc`` (what ``worker_processes auto`` uses on the host)."""
    n = single_number(text, _NPROC_VALUE, "nproc", "the CPU count")
    if n < 1:
        raise EvidenceError("nproc printed 0: paste the output of `nproc` run on the nginx host")
    return n


_CPU_MAX = lazy_compile(r"^([0-9]{1,20}|max)\s+([0-9]{1,20})\s*$", re.MULTILINE)


def parse_cpus(text: str) -> CpuCount:
    """The CPU count and the cgroup CPU quota from ``nproc; cat /sys/fs/cgroup/cpu.max`` output.

    Containers see every host CPU in ``nproc`` while ``cpu.max`` caps what they may use, so
    both matter for ``worker_processes``; either may be missing from a paste.
    """
    quota = _CPU_MAX.search(text)
    counts = _CPU_MAX.sub("", text)
    count = None
    if any(is_number(line.strip()) or "nproc:" in line for line in counts.splitlines()):
        count = parse_nproc(counts)
    if quota is None or quota.group(1) == "max":
        return CpuCount(count, None)
    return CpuCount(count, int(quota.group(1)) / int(quota.group(2)))
