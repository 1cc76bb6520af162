"""nginx's processes and their roles from ``ps``, ``ps aux``, ``ps -ef``, busybox ``ps`` or ``pgrep -a``."""

from __future__ import annotations

from bot.evidence.limits.model import EvidenceError, NginxProcess
from bot.evidence.limits.output import output_lines, quoted_start, refuse_command_error
from bot.evidence.numbers import is_number
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_PS_CMD = "ps -o pid,ppid,user,etime,cmd -C nginx"

_ROLES = lazy_compile(r"^nginx: (master|worker|cache manager|cache loader) process\b")
_NGINX_BINARIES = frozenset({"nginx", "nginx-debug", "openresty", "nginx.exe", "[nginx]"})
_PS_HEADER_NAMES = {"PID": "pid", "PPID": "ppid", "USER": "user", "UID": "user", "RUSER": "user", "EUSER": "user"}
_PS_COMMAND_COLUMNS = ("CMD", "COMMAND", "ARGS")
_WORD = lazy_compile(r"\S+")
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
        if at == 1 and len(candidates) > 1 and is_number(words[0][1]):
            at = candidates[1]
        if any(w.rsplit("/", 1)[-1] in _SEARCH_TOOLS for _, w in words[:at]):
            return None  # `grep nginx`, `tail -f /var/log/nginx/...`: a search for nginx, not nginx
    return [w for _, w in words[:at]], line[words[at][0] :].strip()


def _from_columns(cols: list[str]) -> tuple[int, int | None, str | None] | None:
    """pid, ppid, user from the columns of pgrep -a, busybox ps, ps -o, ps aux or ps -ef."""
    if not cols:
        return None
    if is_number(cols[0]):  # pgrep -a, busybox ps, ps -o pid,ppid,user,...
        pid = int(cols[0])
        if len(cols) >= 2 and is_number(cols[1]):
            user = cols[2] if len(cols) >= 3 and not is_number(cols[2][:1]) else None
            return pid, int(cols[1]), user
        return pid, None, cols[1] if len(cols) >= 2 else None
    if len(cols) >= 2 and is_number(cols[1]):  # ps aux (user pid %cpu ...), ps -ef (uid pid ppid c ...)
        ppid = int(cols[2]) if len(cols) == 7 and is_number(cols[2]) else None
        return int(cols[1]), ppid, cols[0]
    return None


def parse_ps(text: str) -> list[NginxProcess]:
    """The nginx processes in ``ps -o ...``, ``ps aux``, ``ps -ef``, busybox ``ps`` or ``pgrep -a`` output."""
    lines = output_lines(text)
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
        if is_number(s):
            bare_pids += 1
            continue
        cols: list[str]
        if header is not None and len(words) >= len(header):
            parts = s.split(None, len(header) - 1)
            named = {_PS_HEADER_NAMES[h]: v for h, v in zip(header, parts, strict=False) if h in _PS_HEADER_NAMES}
            cmd = parts[-1]
            if not is_number(named.get("pid", "")):
                continue
            ppid_text = named.get("ppid", "")
            found = (int(named["pid"]), int(ppid_text) if is_number(ppid_text) else None, named.get("user"))
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
    refuse_command_error(lines, _PS_CMD)
    if bare_pids:
        raise EvidenceError(say("evidence.ps_bare_pids", command=_PS_CMD))
    raise EvidenceError(
        f"no nginx process in {quoted_start(text)}: is nginx running on that host? paste the output of `{_PS_CMD}`"
    )
