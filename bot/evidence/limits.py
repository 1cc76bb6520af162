"""Parse the outputs people paste about descriptor and process limits into plain data.

Sizing needs numbers nginx never logs: the soft/hard open-files limit a worker really got
(``/proc/PID/limits``), what systemd gives the master (``LimitNOFILE=``), the kernel
ceilings (``fs.nr_open``, ``fs.file-max``), how many CPUs ``worker_processes auto`` sees,
how many sockets are in use, and which process is the master. Each parser takes the text
of one section (``sniff`` cuts a paste into them), shell prompt lines included: the prompt
is evidence too (``cat /proc/1234/limits`` names the pid, ``ulimit -Hn`` says the number is
the hard limit).

``unlimited`` / ``infinity`` are ``None``. Where a value can also be missing from a valid
paste, a ``*_known`` flag tells the two apart. Text that is not what the parser reads
raises ``EvidenceError`` with what was wrong and the command to paste instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.evidence.sniff import prompt_command

_LINE_CHARS = 4096
"""No output we read has longer lines; a longer one is cut, not refused."""

_WORKER_LIMITS_CMD = "cat /proc/$(pgrep -f 'nginx: worker process' | head -1)/limits"
_PS_CMD = "ps -o pid,ppid,user,etime,cmd -C nginx"


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


# --- shared ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^```[\w+-]*$")


def _lines(text: str) -> list[str]:
    """Non-blank lines without markdown fences, quote marks or trailing blanks."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw[:_LINE_CHARS].rstrip()
        stripped = line.lstrip()
        if stripped.startswith(">"):
            line = stripped.lstrip("> ")
        if line.lstrip().startswith("```"):
            if _FENCE.match(line.strip()):
                continue
            line = line.lstrip()[3:]
        if line.endswith("```"):
            line = line[:-3].rstrip()
        if line.strip():
            out.append(line)
    return out


def _segments(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """Split lines at shell prompts: ``[(command or None, output lines), ...]``."""
    segments: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            segments.append((cmd, []))
        else:
            segments[-1][1].append(line.strip())
    return [seg for seg in segments if seg[0] is not None or seg[1]]


def _limit(token: str, what: str, paste: str) -> int | None:
    """A limit value: a non-negative integer, or ``unlimited``/``infinity`` as None."""
    if token in ("unlimited", "infinity"):
        return None
    if token.isascii() and token.isdigit() and len(token) <= 20:
        return int(token)
    raise EvidenceError(f"{what}: expected a number or 'unlimited', got {token!r}; paste the output of `{paste}`")


def _count(token: str, what: str, paste: str) -> int:
    if token.isascii() and token.isdigit() and len(token) <= 20:
        return int(token)
    raise EvidenceError(f"{what}: expected a number, got {token!r}; paste the output of `{paste}`")


def _short(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(first[:60] + ("..." if len(first) > 60 else ""))


_COMMAND_FAILED = re.compile(r"No such file or directory|Permission denied|command not found|not permitted")


def _refuse_command_error(lines: list[str], paste: str) -> None:
    for line in lines:
        if _COMMAND_FAILED.search(line) and prompt_command(line) is None:
            raise EvidenceError(f"the command failed ({line.strip()[:120]}); run `{paste}` and paste its output")


# --- /proc/PID/limits ------------------------------------------------------------------------

_LIMIT_NAMES = ("Max open files", "Max processes")
_LIMIT_ROW_LOOSE = re.compile(r"^(Max [a-z]+(?: [a-z]+){0,3})\s+(\S+)\s+(\S+)")
_PROC_PID = re.compile(r"/proc/(\d+)/limits\b")


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
    lines = _lines(text)
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
            _limit(soft, f"{name} soft limit", _WORKER_LIMITS_CMD),
            _limit(hard, f"{name} hard limit", _WORKER_LIMITS_CMD),
        )
        if name in found and found[name] != values:
            raise EvidenceError(
                f"two different {name!r} rows: this holds more than one process's limits; "
                "paste one /proc/PID/limits table at a time"
            )
        found[name] = values
    if "Max open files" not in found:
        _refuse_command_error(lines, _WORKER_LIMITS_CMD)
        raise EvidenceError(
            f"no 'Max open files' row in {_short(text)}: paste the whole output of `{_WORKER_LIMITS_CMD}` "
            "(a worker's table; the master's does not show worker_rlimit_nofile)"
        )
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

_ULIMIT_NOFILE_ROW = re.compile(
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
    lines = _lines(text)
    values: dict[str, int | None] = {}
    for cmd, out in _segments(lines):
        flags = "n" if cmd is None else _ulimit_flags(cmd)
        if flags is None:
            continue
        if not flags and out:
            raise EvidenceError(
                f"`ulimit` without -n prints the file-size limit, not open files: paste `{_ULIMIT_CMD}`"
            )
        which = "hard" if "H" in flags and "S" not in flags else "soft"
        for line in out:
            if line.startswith("ulimit:") or _COMMAND_FAILED.search(line):
                raise EvidenceError(f"ulimit failed ({line[:120]}); run `{_ULIMIT_CMD}` as the user that starts nginx")
            row = _ULIMIT_NOFILE_ROW.match(line)
            if row is not None:
                values[which] = _limit(row.group(1), "open files", _ULIMIT_CMD)
            elif "n" in flags and "a" not in flags and (line.isdigit() or line == "unlimited") and len(out) == 1:
                values[which] = _limit(line, "open files", _ULIMIT_CMD)
    if not values:
        raise EvidenceError(
            f"no open-files limit in {_short(text)}: paste `{_ULIMIT_CMD}` with the commands "
            "(`ulimit -a` shows it as 'open files (-n)')"
        )
    return UlimitValues(values.get("soft"), values.get("hard"), "soft" in values, "hard" in values)


# --- systemctl show --------------------------------------------------------------------------

_SYSTEMD_LINE = re.compile(r"^([A-Z][A-Za-z0-9]*)=(.*)$")
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
    lines = _lines(text)
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
        raise EvidenceError(
            f"systemd has no unit {unit or 'by that name'} (LoadState=not-found): find the real name with "
            "`systemctl list-units --all '*nginx*'` and run `systemctl show UNIT -p LimitNOFILE -p LimitNOFILESoft`"
        )
    if "LimitNOFILE" not in props:
        _refuse_command_error(lines, _SYSTEMCTL_CMD)
        raise EvidenceError(f"no LimitNOFILE= line in {_short(text)}: paste the output of `{_SYSTEMCTL_CMD}`")
    hard = _limit(props["LimitNOFILE"], "LimitNOFILE", _SYSTEMCTL_CMD)
    soft_known = "LimitNOFILESoft" in props
    soft = _limit(props["LimitNOFILESoft"], "LimitNOFILESoft", _SYSTEMCTL_CMD) if soft_known else None
    return SystemdLimits(hard, soft, unit, soft_known)


# --- sysctl, file-nr -------------------------------------------------------------------------

_SYSCTL_LINE = re.compile(r"^([\w./-]+)\s*[=:]\s*(\S+)$")
_SYSCTL_KEYS = {"fs.nr_open": "nr_open", "fs.file-max": "file_max"}
_SYSCTL_CMD = "sysctl fs.nr_open fs.file-max"
_SYSCTL_WORD = re.compile(r"^(?:/proc/sys/)?[a-z]+[./][\w./-]+$")


def _sysctl_key(word: str) -> str:
    """``/proc/sys/fs/nr_open`` and ``fs/nr_open`` are the same key as ``fs.nr_open``."""
    return word.removeprefix("/proc/sys/").replace("/", ".")


def parse_sysctl(text: str) -> KernelLimits:
    """Read ``fs.nr_open`` and ``fs.file-max`` from ``sysctl`` or ``cat /proc/sys/fs/...`` output."""
    lines = _lines(text)
    found: dict[str, int] = {}
    for cmd, out in _segments(lines):
        # `sysctl -n a b` and `cat /proc/sys/fs/x` print bare values, in the order asked
        asked = [] if cmd is None else [_sysctl_key(w) for w in cmd.split() if _SYSCTL_WORD.match(w)]
        bare = 0
        for line in out:
            m = _SYSCTL_LINE.match(line)
            if m is not None:
                key = _sysctl_key(m.group(1))
                if key in _SYSCTL_KEYS:
                    found[_SYSCTL_KEYS[key]] = _count(m.group(2), key, _SYSCTL_CMD)
            elif line.isdigit() and bare < len(asked):
                key = asked[bare]
                bare += 1
                if key in _SYSCTL_KEYS:
                    found[_SYSCTL_KEYS[key]] = _count(line, key, _SYSCTL_CMD)
    if not found:
        _refuse_command_error(lines, _SYSCTL_CMD)
        raise EvidenceError(f"no fs.nr_open or fs.file-max in {_short(text)}: paste the output of `{_SYSCTL_CMD}`")
    return KernelLimits(found.get("nr_open"), found.get("file_max"))


_FILE_NR_CMD = "cat /proc/sys/fs/file-nr"


def parse_file_nr(text: str) -> FileNr:
    """Read the three numbers of ``/proc/sys/fs/file-nr`` (tabs, or spaces after a chat client)."""
    lines = _lines(text)
    rows = [line.split() for line in lines if prompt_command(line) is None]
    triples = [row for row in rows if len(row) == 3 and all(w.isascii() and w.isdigit() for w in row)]
    if len(triples) != 1:
        _refuse_command_error(lines, _FILE_NR_CMD)
        what = "several lines of three numbers" if triples else f"no line of three numbers in {_short(text)}"
        raise EvidenceError(f"{what}: paste the one line `{_FILE_NR_CMD}` prints (allocated, unused, max)")
    allocated, unused, maximum = (int(w) for w in triples[0])
    return FileNr(allocated, unused, maximum)


# --- nproc, ss -------------------------------------------------------------------------------

_NPROC_VALUE = re.compile(r"^(?:nproc:\s*)?(\d{1,7})$")
_COUNT_VALUE = re.compile(r"^(\d{1,19})$")


def _single_number(text: str, pattern: re.Pattern[str], paste: str, what: str) -> int:
    lines = _lines(text)
    outputs = [line.strip() for line in lines if prompt_command(line) is None]
    if len(outputs) == 1:
        m = pattern.match(outputs[0])
        if m is not None:
            return int(m.group(1))
    _refuse_command_error(lines, paste)
    got = "nothing" if not outputs else (f"{len(outputs)} lines" if len(outputs) > 1 else repr(outputs[0][:60]))
    raise EvidenceError(f"expected the single number `{paste}` prints ({what}), got {got}")


def parse_nproc(text: str) -> int:
    """The CPU count from ``nproc`` (what ``worker_processes auto`` uses on the host)."""
    n = _single_number(text, _NPROC_VALUE, "nproc", "the CPU count")
    if n < 1:
        raise EvidenceError("nproc printed 0: paste the output of `nproc` run on the nginx host")
    return n


def parse_ss_count(text: str) -> int:
    """The number printed by ``ss -tan state established | wc -l`` (it counts ss's header line too)."""
    return _single_number(text, _COUNT_VALUE, "ss -tan state established | wc -l", "a socket count")


_SS_TOTAL = re.compile(r"^Total:\s+(\d+)")
_SS_TCP = re.compile(r"^TCP:\s+(\d+)\s+\((.*)\)")
_SS_PAIR = re.compile(r"\b([a-z]+) (\d+)")
_SS_CMD = "ss -s"


def parse_ss_summary(text: str) -> SocketSummary:
    """Read the ``Total:`` and ``TCP:`` lines of ``ss -s``."""
    lines = _lines(text)
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
        _refuse_command_error(lines, _SS_CMD)
        raise EvidenceError(
            f"no 'TCP:   N (estab ..., closed ..., orphaned ..., timewait ...)' line in {_short(text)}: "
            f"paste the whole output of `{_SS_CMD}`"
        )
    counts = tcp[1]
    missing = [k for k in ("estab", "closed", "orphaned", "timewait") if k not in counts]
    if missing:
        raise EvidenceError(
            f"the TCP: line of ss -s lacks {', '.join(missing)}: paste the line as `{_SS_CMD}` prints it"
        )
    return SocketSummary(total, tcp[0], counts["estab"], counts["closed"], counts["orphaned"], counts["timewait"])


# --- ps --------------------------------------------------------------------------------------

_ROLES = re.compile(r"^nginx: (master|worker|cache manager|cache loader) process\b")
_NGINX_BINARIES = frozenset({"nginx", "nginx-debug", "openresty", "nginx.exe", "[nginx]"})
_PS_HEADER_NAMES = {"PID": "pid", "PPID": "ppid", "USER": "user", "UID": "user", "RUSER": "user", "EUSER": "user"}
_PS_COMMAND_COLUMNS = ("CMD", "COMMAND", "ARGS")
_WORD = re.compile(r"\S+")
_SEARCH_TOOLS = frozenset(
    {
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "pgrep",
        "tail",
        "less",
        "vi",
        "vim",
        "nano",
        "cat",
        "watch",
        "strace",
        "journalctl",
        "sudo",
        "bash",
        "sh",
    }
)


def _is_nginx(cmd: str) -> bool:
    if cmd.startswith("nginx:"):
        return True
    first = cmd.split(None, 1)[0] if cmd.strip() else ""
    return first.rsplit("/", 1)[-1] in _NGINX_BINARIES


def _role(cmd: str) -> str:
    m = _ROLES.match(cmd)
    return m.group(1) if m else "other"


def _headerless(line: str) -> tuple[list[str], str] | None:
    """Columns before the command, and the command, of a ps/pgrep line without a header."""
    words = [(m.start(), m.group()) for m in _WORD.finditer(line)]
    titled = [i for i, (_, w) in enumerate(words) if i >= 1 and w == "nginx:"]
    if titled:
        at = titled[0]
    else:
        # untitled (`nginx -g daemon off;`, `[nginx] <defunct>`); a user may also be called nginx
        candidates = [i for i, (_, w) in enumerate(words) if i >= 1 and w.rsplit("/", 1)[-1] in _NGINX_BINARIES]
        if not candidates:
            return None
        at = candidates[0]
        if at == 1 and len(candidates) > 1 and words[0][1].isdigit():
            at = candidates[1]
        if any(w.rsplit("/", 1)[-1] in _SEARCH_TOOLS for _, w in words[:at]):
            return None  # `grep nginx`, `tail -f /var/log/nginx/...`: a search for nginx, not nginx
    return [w for _, w in words[:at]], line[words[at][0] :].strip()


def _from_columns(cols: list[str]) -> tuple[int, int | None, str | None] | None:
    """pid, ppid, user from the columns of pgrep -a, busybox ps, ps -o, ps aux or ps -ef."""
    if not cols:
        return None
    if cols[0].isdigit():  # pgrep -a, busybox ps, ps -o pid,ppid,user,...
        pid = int(cols[0])
        if len(cols) >= 2 and cols[1].isdigit():
            user = cols[2] if len(cols) >= 3 and not cols[2][:1].isdigit() else None
            return pid, int(cols[1]), user
        return pid, None, cols[1] if len(cols) >= 2 else None
    if len(cols) >= 2 and cols[1].isdigit():  # ps aux (user pid %cpu ...), ps -ef (uid pid ppid c ...)
        ppid = int(cols[2]) if len(cols) == 7 and cols[2].isdigit() else None
        return int(cols[1]), ppid, cols[0]
    return None


def parse_ps(text: str) -> list[NginxProcess]:
    """The nginx processes in ``ps -o ...``, ``ps aux``, ``ps -ef``, busybox ``ps`` or ``pgrep -a`` output."""
    lines = _lines(text)
    header: list[str] | None = None
    procs: list[NginxProcess] = []
    seen: set[int] = set()
    bare_pids = 0
    for line in lines:
        if prompt_command(line) is not None:
            header = None
            continue
        s = line.strip()
        words = s.split()
        if "PID" in words and words[-1] in _PS_COMMAND_COLUMNS:
            header = words
            continue
        if s.isdigit():
            bare_pids += 1
            continue
        cols: list[str]
        if header is not None and len(words) >= len(header):
            parts = s.split(None, len(header) - 1)
            named = {_PS_HEADER_NAMES[h]: v for h, v in zip(header, parts, strict=False) if h in _PS_HEADER_NAMES}
            cmd = parts[-1]
            if not named.get("pid", "").isdigit():
                continue
            ppid_text = named.get("ppid", "")
            found = (int(named["pid"]), int(ppid_text) if ppid_text.isdigit() else None, named.get("user"))
        else:
            split = _headerless(s)
            if split is None:
                continue
            cols, cmd = split
            parsed = _from_columns(cols)
            if parsed is None:
                continue
            found = parsed
        if not _is_nginx(cmd) or found[0] in seen:
            continue  # the `grep nginx` line, an editor, a duplicate
        seen.add(found[0])
        procs.append(NginxProcess(found[0], found[1], found[2], _role(cmd), cmd))
    if procs:
        return procs
    _refuse_command_error(lines, _PS_CMD)
    if bare_pids:
        raise EvidenceError(
            "only bare pids (pgrep without -a): they do not say which is the master; "
            f"paste the output of `{_PS_CMD}` or `pgrep -a nginx`"
        )
    raise EvidenceError(
        f"no nginx process in {_short(text)}: is nginx running on that host? paste the output of `{_PS_CMD}`"
    )
