"""Collect every kind of evidence from pastes and files into one ``Collected`` bundle.

A user pastes in pieces: the alert first, `nginx -T` later, a limits table after that.
Each piece is sniffed into sections; ``bot.evidence.SECTION_KINDS`` says how each kind of
section is read and which field of the bundle keeps it. Error-log lines stream into the
matcher and the grouper, everything else becomes plain data. Parse failures become
``problems`` (shown to the user with what to paste instead), never exceptions: what else
was pasted is still diagnosed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.evidence import SECTION_KINDS, limits_conf_lines, sniff
from bot.evidence.numbers import is_number
from bot.grouping import Grouper
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile
from bot.matching import Matcher

if TYPE_CHECKING:  # the models of the kinds a paste may hold: imported when a section of one is read
    from bot.evidence import (
        CpuCount,
        FileNr,
        KernelLimits,
        Mapper,
        NginxConfig,
        NginxProcess,
        ProcLimits,
        Section,
        SocketSummary,
        SystemdLimits,
        UlimitValues,
    )
    from bot.evidence.backend.model import (
        FpmPools,
        FpmProcess,
        ListeningSocket,
        Memory,
        NginxBuild,
        ProcessUsage,
        Resolution,
    )
    from bot.evidence.system.model import AccessLog, Certificate, DiskUsage, PathPermissions, RunEnvironment


def _log_info(msg: str, *args: object) -> None:
    """Log for operators of a long-running bot; ``logging`` is imported only when a part is
    unreadable (importing it costs more at start-up than a short diagnosis)."""
    import logging

    logging.getLogger(__name__).info(msg, *args)


ENV_SAMPLE_CHARS = 200_000
"""Raw text kept to recognise the environment (systemd, Docker, Kubernetes) from."""

_MASTER_HINT = lazy_compile(r"pgrep\s+-o|nginx\.pid|pgrep\s+-f\s+['\"]?nginx: master|\bmaster\b")


@dataclass
class LimitsPaste:
    """One /proc/PID/limits table and what we could tell about whose it is."""

    limits: ProcLimits
    command: str | None


@dataclass
class Collected:
    """Everything known so far about one incident."""

    grouper: Grouper = field(default_factory=Grouper)
    config: NginxConfig | None = None
    nginx_t: list[str] = field(default_factory=list)
    limits: list[LimitsPaste] = field(default_factory=list)
    ulimit: UlimitValues | None = None
    systemd: SystemdLimits | None = None
    kernel: KernelLimits | None = None
    file_nr: FileNr | None = None
    nproc: int | None = None
    cpu_quota: float | None = None
    sockets: SocketSummary | None = None
    established: int | None = None
    processes: list[NginxProcess] = field(default_factory=list)
    usage: list[ProcessUsage] = field(default_factory=list)
    """CPU time per nginx process, from ``ps`` with TIME / %CPU columns."""
    fpm_processes: list[FpmProcess] = field(default_factory=list)
    fpm_pools: list[FpmPools] = field(default_factory=list)
    listening: list[ListeningSocket] = field(default_factory=list)
    memory: Memory | None = None
    resolutions: list[Resolution] = field(default_factory=list)
    build: NginxBuild | None = None
    disk: DiskUsage | None = None
    permissions: list[PathPermissions] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    access: list[AccessLog] = field(default_factory=list)
    """Access-log sections, each as read (a log that mixes error and access lines gives several)."""
    run_env: RunEnvironment | None = None
    """How nginx is run (systemd, Docker, Kubernetes), from ``systemctl status`` and ``/proc/1/cgroup``."""
    questions: list[str] = field(default_factory=list)
    limits_conf_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unreadable: set[tuple[str, str]] = field(default_factory=set)
    deadline: float | None = None
    """``time.monotonic()`` after which no more is read (a conversation turn's budget); None: no limit."""
    stopped: bool = False
    """(kind, error) of parts that failed to read: each is reported once."""
    present: set[str] = field(default_factory=set)
    env_text: list[str] = field(default_factory=list)
    map_files: Mapper = field(default=map, repr=False, compare=False)
    """How the files of a big ``nginx -T`` dump are parsed: the front door may pass a process pool's map."""

    # -- whose limits --------------------------------------------------------------------

    def _pid_role(self, pid: int | None) -> str | None:
        for proc in self.processes:
            if proc.pid == pid:
                return proc.role
        return None

    def limits_role(self, paste: LimitsPaste) -> tuple[str, str]:
        """("worker"|"master"|"unknown", why) for one limits table."""
        role = self._pid_role(paste.limits.pid)
        if role == "master":
            return "master", f"pid {paste.limits.pid} is the master in the pasted ps output"
        if role in ("worker", "cache manager", "cache loader"):
            return "worker", f"pid {paste.limits.pid} is a {role} in the pasted ps output"
        cmd = paste.command or ""
        if cmd and _MASTER_HINT.search(cmd) and "worker" not in cmd:
            return "master", f"`{cmd}` reads the master's limits (pgrep -o and the pid file name the master)"
        rlimit = self.config.worker_rlimit_nofile if self.config else None
        soft, hard = paste.limits.nofile_soft, paste.limits.nofile_hard
        if rlimit is not None and rlimit.args and is_number(rlimit.args[0]):
            value = int(rlimit.args[0])
            if soft == value and hard == value:
                return "worker", f"soft = hard = worker_rlimit_nofile {value}: a worker set them"
            return "master", (
                f"worker_rlimit_nofile is {value} but this table shows {soft}/{hard}: workers "
                "set both limits to that value, so this is the master (or an old worker)"
            )
        if "worker" in cmd:
            return "worker", f"read with `{cmd}`"
        return "unknown", "no command, pid or worker_rlimit_nofile tells whose limits these are"

    @property
    def worker_limits(self) -> ProcLimits | None:
        """The limits of a worker, when a pasted table is known or assumed to be a worker's."""
        for paste in self.limits:
            if self.limits_role(paste)[0] in ("worker", "unknown"):
                return paste.limits
        return None

    @property
    def master_limits(self) -> ProcLimits | None:
        """The limits of the master, when a pasted table is one."""
        for paste in self.limits:
            if self.limits_role(paste)[0] == "master":
                return paste.limits
        return None

    @property
    def master_user(self) -> str | None:
        """The user the master runs as, from ps output."""
        for proc in self.processes:
            if proc.role == "master" and proc.user:
                return proc.user
        return None

    @property
    def old_workers(self) -> list[NginxProcess]:
        """Workers still draining after a reload (``worker process is shutting down``)."""
        return [p for p in self.processes if "shutting down" in p.cmd]

    # -- adding evidence -----------------------------------------------------------------

    def add_log_lines(self, lines: Iterable[str], matcher: Matcher) -> None:
        """Stream error-log lines into the matcher and grouper."""
        add = self.grouper.add
        match_text = matcher.match_text
        seen = False
        for number, raw in enumerate(lines, 1):
            if not number & 1023 and self.out_of_time(f"line {number}"):
                break
            seen = True
            try:
                line, m = match_text(raw)
            except Exception as exc:  # one unreadable line never sinks the others
                self._unreadable(f"line {number}", "error-log", exc)
                continue
            add(line, m)
            if len(self.env_text) < 50:
                self.env_text.append(raw[:500])
        if seen:
            self.present.add("error-log")

    def add_text(
        self, text: str, matcher: Matcher, name: str = "paste", sniffed: Sequence[Section] | None = None
    ) -> None:
        """Sniff a paste or a small file and take every section it holds.

        ``sniffed``: ``sniff(text)``, when the caller has cut it already (text without a CR
        only: the cut is of the text as read here); it is then not cut again.
        """
        if "\r" in text:  # CRLF, and CR-only line ends (old Mac tools, some consoles) end lines too
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            sniffed = None
        if sum(len(t) for t in self.env_text) < ENV_SAMPLE_CHARS:
            self.env_text.append(text[:ENV_SAMPLE_CHARS])
        try:
            self.limits_conf_lines.extend(limits_conf_lines(text))
            sections = sniff(text) if sniffed is None else sniffed
        except Exception as exc:  # the sniffer failed: still match what can be log lines
            self._unreadable(f"{name} line 1", "paste", exc)
            self.add_log_lines((ln for ln in text.split("\n") if ln.strip()), matcher)
            return
        for section in sections:
            if self.out_of_time(f"{name} line {section.start_line}"):
                return
            self.take(section, matcher, name)

    def out_of_time(self, where: str) -> bool:
        """True once the turn's ``deadline`` has passed; says so once, with where reading stopped."""
        if self.deadline is None or (not self.stopped and time.monotonic() < self.deadline):
            return False
        if not self.stopped:
            self.stopped = True
            self.problems.append(say("evidence.out_of_time", where=where))
        return True

    def take(self, section: Section, matcher: Matcher, name: str = "paste") -> None:
        """Read one sniffed section into the field its kind fills (``bot.evidence.SECTION_KINDS``)."""
        kind = SECTION_KINDS[section.kind]
        where = f"{name} line {section.start_line}"
        try:
            if kind.fills is None:
                self._take_unplaced(section.text, matcher)
            else:
                self._fill(kind.fills, kind.read(section.text, self.map_files), section, matcher)
        except Exception as exc:
            if isinstance(exc, _reading_errors()):  # input a parser cannot use: said with its place
                self.problems.append(f"{where}: {exc}")
            else:  # a bug on odd input (or too deep a nesting): this part is lost, the rest is still read
                self._unreadable(where, section.kind, exc)
            return
        if kind.proves is not None:
            self.present.add(kind.proves)

    def _unreadable(self, where: str, kind: str, exc: BaseException) -> None:
        """Record a part the engine failed to read as a ``problem`` with its place (once per kind of failure)."""
        key = (kind, type(exc).__name__)
        if key in self.unreadable:
            return
        self.unreadable.add(key)
        # For operators of a long-running bot; info, so a CLI run prints nothing; no input text.
        _log_info("unreadable %s at %s: %s", kind, where, type(exc).__name__)
        self.problems.append(say("evidence.part_unreadable", where=where, kind=kind, error=type(exc).__name__))

    def _fill(self, name: str, value: Any, section: Section, matcher: Matcher) -> None:
        """Keep a parsed value in field ``name``: lists grow, a single value is replaced (the later paste wins)."""
        if name == "grouper":
            self.add_log_lines(value, matcher)
        elif name == "nginx_t":
            self._add_nginx_t(value, matcher)
        elif name == "config":
            self._set_config(value)
        elif name == "limits":
            self.limits.append(LimitsPaste(value, value.command or section.name))
        elif name == "nproc":
            self._set_cpus(value)
        elif name == "processes":  # ``ps`` output: the processes and their CPU time
            self.processes.extend(value.processes)
            self.usage.extend(value.usage)
        elif not isinstance(current := getattr(self, name), list):
            setattr(self, name, value)
        elif isinstance(value, list):
            current.extend(value)
        else:
            current.append(value)

    def _add_nginx_t(self, lines: list[str], matcher: Matcher) -> None:
        for line in lines:
            self.nginx_t.append(line)
            if "[" in line:  # init-time warnings are log messages too
                self.add_log_lines([line], matcher)

    def _set_config(self, config: NginxConfig) -> None:
        self.config = config
        self.present.add("nginx-T")
        for issue in config.errors:
            self.problems.append(f"nginx -T: {issue}")

    def _set_cpus(self, cpus: CpuCount) -> None:
        if cpus.quota is not None:
            self.cpu_quota = cpus.quota
        if cpus.count is not None:
            self.nproc = cpus.count

    def _take_unplaced(self, text: str, matcher: Matcher) -> None:
        """Text the sniffer could not place: a bare config snippet, else lines for the matcher."""
        from bot.evidence.nginx_config.parse import looks_like_config, parse_dump

        if looks_like_config(text):
            # A bare nginx.conf or `server {}` snippet, pasted without `nginx -T` headers.
            self._set_config(parse_dump(text, map_files=self.map_files))
            return
        # A mangled or translated nginx line may still match fuzzily; the rest is counted as
        # unmatched (the queue for growing the KB).
        present = "error-log" in self.present
        self.add_log_lines((ln for ln in text.splitlines() if ln.strip()), matcher)
        if not present and not self.grouper.groups:
            self.present.discard("error-log")

    @property
    def observed_concurrency(self) -> int | None:
        """Established TCP connections seen on the host, if pasted."""
        if self.established is not None:
            return self.established
        return self.sockets.estab if self.sockets else None


def _reading_errors() -> tuple[type[Exception], ...]:
    """The errors parsers raise for input they cannot use (imported only when one is raised)."""
    from bot.evidence import ConfigParseError, EvidenceError

    return (EvidenceError, ConfigParseError)
