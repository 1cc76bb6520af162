"""What the limit parsers return: plain frozen data, and the one error they raise."""

from __future__ import annotations

from dataclasses import dataclass


class EvidenceError(ValueError):
    """Pasted evidence that is not what it should be; the message says what to paste instead."""


@dataclass(frozen=True, slots=True)
class ProcLimits:
    """One process's limits from ``/proc/PID/limits``. ``None`` means unlimited."""

    nofile_soft: int | None
    nofile_hard: int | None
    nproc_soft: int | None
    nproc_hard: int | None
    pid: int | None = None
    nproc_known: bool = True
    """False when the paste held no ``Max processes`` row (e.g. only a grepped line)."""
    command: str | None = None
    """The command that printed the table: ``pgrep -o`` or a pid file name the master."""


@dataclass(frozen=True, slots=True)
class UlimitValues:
    """Open-files limit of a shell. ``None`` means unlimited; ``*_known`` says it was shown."""

    soft: int | None
    hard: int | None
    soft_known: bool = True
    hard_known: bool = True


@dataclass(frozen=True, slots=True)
class SystemdLimits:
    """``systemctl show`` values: ``LimitNOFILE`` is the hard limit, ``LimitNOFILESoft`` the soft."""

    limit_nofile: int | None
    limit_nofile_soft: int | None
    unit: str | None = None
    limit_nofile_soft_known: bool = True


@dataclass(frozen=True, slots=True)
class KernelLimits:
    """Kernel ceilings; ``None`` when the paste did not show that key."""

    nr_open: int | None
    file_max: int | None


@dataclass(frozen=True, slots=True)
class FileNr:
    """``/proc/sys/fs/file-nr``: descriptors allocated system-wide, allocated but unused, maximum."""

    allocated: int
    unused: int
    max: int


@dataclass(frozen=True, slots=True)
class SocketSummary:
    """The first lines of ``ss -s``. ``total`` is None when the ``Total:`` line was not pasted."""

    total: int | None
    tcp_total: int
    estab: int
    closed: int
    orphaned: int
    timewait: int


@dataclass(frozen=True, slots=True)
class NginxProcess:
    """One nginx process from ``ps``/``pgrep``; ``role`` is read from the process title."""

    pid: int
    ppid: int | None
    user: str | None
    role: str
    cmd: str


@dataclass(frozen=True, slots=True)
class CpuCount:
    """What ``nproc; cat /sys/fs/cgroup/cpu.max`` shows; ``None`` where the paste does not say."""

    count: int | None
    """Online CPUs (``nproc``): what ``worker_processes auto`` starts one worker for."""
    quota: float | None
    """The cgroup's CPU limit in CPUs (``200000 100000`` is 2.0); ``None`` when unlimited or not shown."""
