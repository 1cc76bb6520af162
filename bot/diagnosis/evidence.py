"""Collect every kind of evidence from pastes and files into one ``Evidence`` bundle.

A user pastes in pieces: the alert first, `nginx -T` later, a limits table after that.
Each piece is sniffed into sections; error-log lines stream into the matcher and the
grouper, everything else is parsed into plain data. Parse failures become ``problems``
(shown to the user with what to paste instead), never exceptions: what else was pasted
is still diagnosed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.diagnosis.grouping import Grouper
from bot.evidence.limits import (
    EvidenceError,
    FileNr,
    KernelLimits,
    NginxProcess,
    ProcLimits,
    SocketSummary,
    SystemdLimits,
    UlimitValues,
    parse_file_nr,
    parse_nproc,
    parse_proc_limits,
    parse_ps,
    parse_ss_count,
    parse_ss_summary,
    parse_sysctl,
    parse_systemctl_show,
    parse_ulimit,
)
from bot.evidence.nginx_config import ConfigParseError, NginxConfig, parse_dump
from bot.evidence.sniff import Section, sniff
from bot.matching.matcher import Matcher

ENV_SAMPLE_CHARS = 200_000
"""Raw text kept to recognise the environment (systemd, Docker, Kubernetes) from."""

_MASTER_HINT = re.compile(r"pgrep\s+-o|nginx\.pid|pgrep\s+-f\s+['\"]?nginx: master|\bmaster\b")
_LIMITS_CONF = re.compile(r"^\s*[*@\w-]+\s+(?:soft|hard|-)\s+nofile\s+\d+", re.MULTILINE)
_CPU_MAX = re.compile(r"^(\d+|max)\s+(\d+)\s*$", re.MULTILINE)


_CONFIG_LINE_END = re.compile(r"[;{}]\s*(?:#.*)?$")


def _looks_like_config(text: str) -> bool:
    """Mostly lines ending in ``;``, ``{`` or ``}``: nginx configuration, not prose or logs."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) < 3:
        return False
    ends = sum(1 for ln in lines if _CONFIG_LINE_END.search(ln))
    return ends >= 0.6 * len(lines) and any(ln.endswith("{") for ln in lines)


@dataclass
class LimitsPaste:
    """One /proc/PID/limits table and what we could tell about whose it is."""

    limits: ProcLimits
    command: str | None


@dataclass
class Evidence:
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
    questions: list[str] = field(default_factory=list)
    limits_conf_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    env_text: list[str] = field(default_factory=list)

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
        if rlimit is not None and rlimit.args and rlimit.args[0].isdigit():
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
        for raw in lines:
            seen = True
            line, m = match_text(raw)
            add(line, m)
            if len(self.env_text) < 50:
                self.env_text.append(raw[:500])
        if seen:
            self.present.add("error-log")

    def add_text(self, text: str, matcher: Matcher, name: str = "paste") -> None:
        """Sniff a paste or a small file and take every section it holds."""
        if sum(len(t) for t in self.env_text) < ENV_SAMPLE_CHARS:
            self.env_text.append(text[:ENV_SAMPLE_CHARS])
        for limits_line in _LIMITS_CONF.findall(text):
            self.limits_conf_lines.append(limits_line.strip())
        for section in sniff(text):
            self._take(section, matcher, name)

    def _take(self, section: Section, matcher: Matcher, name: str) -> None:  # noqa: C901 (split in the reshape, issue 12)
        kind = section.kind
        where = f"{name} line {section.start_line}"
        try:
            if kind == "errorlog":
                self.add_log_lines(section.text.splitlines(), matcher)
            elif kind == "nginx-T":
                self._take_config(section.text, where)
            elif kind == "nginx-t":
                self.present.add("nginx-t")
                for line in section.text.splitlines():
                    self.nginx_t.append(line)
                    if "[" in line:  # init-time warnings are log messages too
                        self.add_log_lines([line], matcher)
            elif kind == "proc-limits":
                limits = parse_proc_limits(section.text)
                self.limits.append(LimitsPaste(limits, limits.command or section.name))
                self.present.add("worker-limits")
            elif kind == "ulimit":
                self.ulimit = parse_ulimit(section.text)
                self.present.add("ulimit")
            elif kind == "systemctl-show":
                self.systemd = parse_systemctl_show(section.text)
                self.present.add("systemctl-limitnofile")
            elif kind == "sysctl":
                self.kernel = parse_sysctl(section.text)
                self.present.add("sysctl-fs")
            elif kind == "file-nr":
                self.file_nr = parse_file_nr(section.text)
                self.present.add("sysctl-fs")
            elif kind == "nproc":
                quota = _CPU_MAX.search(section.text)
                if quota and quota.group(1) != "max":
                    self.cpu_quota = int(quota.group(1)) / int(quota.group(2))
                counts = _CPU_MAX.sub("", section.text)
                if any(line.strip().isdigit() or "nproc:" in line for line in counts.splitlines()):
                    self.nproc = parse_nproc(counts)
                self.present.add("nproc")
            elif kind == "ss-s":
                self.sockets = parse_ss_summary(section.text)
                self.present.add("ss-s")
            elif kind == "ss-count":
                self.established = parse_ss_count(section.text)
                self.present.add("ss-s")
            elif kind == "ps":
                self.processes.extend(parse_ps(section.text))
                self.present.add("ps-nginx")
            elif kind == "question":
                self.questions.append(section.text.strip())
            elif _looks_like_config(section.text):
                # A bare nginx.conf or `server {}` snippet, pasted without `nginx -T` headers.
                self._take_config(section.text, where)
            else:
                # Unrecognised text still goes through the matcher: a mangled or translated
                # nginx line the sniffer could not place may match fuzzily; the rest is
                # counted as unmatched (the queue for growing the KB).
                present = "error-log" in self.present
                self.add_log_lines((ln for ln in section.text.splitlines() if ln.strip()), matcher)
                if not present and not self.grouper.groups:
                    self.present.discard("error-log")
        except EvidenceError as exc:
            self.problems.append(f"{where}: {exc}")

    def _take_config(self, text: str, where: str) -> None:
        try:
            config = parse_dump(text)
        except ConfigParseError as exc:
            self.problems.append(f"{where}: {exc}")
            return
        self.config = config
        self.present.add("nginx-T")
        for issue in config.errors:
            self.problems.append(f"nginx -T: {issue}")

    @property
    def observed_concurrency(self) -> int | None:
        """Established TCP connections seen on the host, if pasted."""
        if self.established is not None:
            return self.established
        return self.sockets.estab if self.sockets else None
