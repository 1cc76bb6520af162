"""Listening sockets from ``ss -ltnp`` and ``ss -lx``: address or path, queue, backlog, owner."""

from __future__ import annotations

from bot.evidence.backend.model import ListeningSocket
from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines, refuse_command_error
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

COMMAND = "ss -ltnp; ss -lxp"

_ROW = lazy_compile(
    r"^(?:(?P<netid>u_str|u_seq|u_dgr|tcp|tcp6|nl|p_raw|p_dgr|udp|u_seqpacket)\s+)?"
    r"(?P<state>LISTEN|UNCONN)\s+(?P<recv>[0-9]{1,10})\s+(?P<send>[0-9]{1,10})\s+"
    r"(?P<local>\S{1,1024})\s+(?P<peer>\S{1,1024})(?:\s+(?P<rest>.{0,2048}))?$"
)
_USERS = lazy_compile(r'\(\("(?P<name>[^"]{1,64})",pid=')
_PROCESS_NAMES = lazy_compile(r'"([^"]{1,64})",pid=')


def _kind(netid: str | None, local: str) -> str:
    if netid is not None and netid.startswith("u_"):
        return "unix"
    if netid is None and (local.startswith(("/", "@")) or local == "*"):
        return "unix"
    return "tcp"


def _local(kind: str, local: str, rest: str) -> str:
    """The socket's own address; ``ss -lx`` prints the path then the inode in the next column."""
    if kind == "unix":
        return local
    return local.replace("%lo", "").replace("0.0.0.0:", "*:") if local.startswith("0.0.0.0:") else local


def parse_listening(text: str) -> list[ListeningSocket]:
    """Every LISTEN row of ``ss -l`` output (TCP and unix), in order."""
    lines = output_lines(text)
    out: list[ListeningSocket] = []
    for line in lines:
        if prompt_command(line) is not None:
            continue
        m = _ROW.match(line.strip())
        if m is None or m.group("state") != "LISTEN":
            continue
        kind = _kind(m.group("netid"), m.group("local"))
        rest = m.group("rest") or ""
        names = tuple(dict.fromkeys(_PROCESS_NAMES.findall(rest)))
        out.append(
            ListeningSocket(
                kind=kind,
                local=_local(kind, m.group("local"), rest),
                recv_q=int(m.group("recv")),
                send_q=int(m.group("send")),
                processes=names,
            )
        )
    if out:
        return out
    refuse_command_error(lines, COMMAND)
    raise EvidenceError(say("evidence.no_listening", command=COMMAND))
