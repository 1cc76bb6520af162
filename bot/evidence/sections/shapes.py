"""What one line of a paste looks like: the shapes that say which command printed it.

A line either proves its kind on its own (``strong_kind``: an nginx prefix, a limits row,
``LimitNOFILE=``) or only fits the output of the command whose prompt came before it
(``loose_fits``: a bare ``8`` after ``$ nproc``).
"""

from __future__ import annotations

import re

from bot.evidence.errorlog import parse_line
from bot.evidence.sections.host_shapes import host_follows, host_kind
from bot.lazy_re import lazy_compile

T_HEADER = lazy_compile(r"^# configuration file (?P<path>\S.*?):$")
_T_VERDICT = lazy_compile(
    r"^nginx: (?:the configuration file \S.* syntax is ok|configuration file \S.* test (?:is successful|failed))$"
)
_LIMITS_HEADER = lazy_compile(r"^Limit\s+Soft Limit\s+Hard Limit\s+Units$")
_LIMITS_ROW = lazy_compile(
    r"^Max [a-z][a-z ]{1,30}?\s+(?:[0-9]{1,20}|unlimited)\s+(?:[0-9]{1,20}|unlimited)(?:\s+[a-z]+)?$"
)
_ULIMIT_ROW = lazy_compile(
    r"^(?:[A-Za-z][\w ./()-]{0,60}?\s*\((?:[^()]{0,40},\s*)?-[A-Za-z]\)"  # bash, busybox: "open files (-n)"
    r"|-[A-Za-z]:\s+[\w ./()-]{1,60}?)"  # zsh, old busybox: "-n: file descriptors"
    r"\s+(?:[0-9]{1,20}|unlimited)$"
)
_ULIMIT_LOOSE = lazy_compile(
    r"^(?:[0-9]{1,20}|unlimited|[a-z][\w ()/.-]{0,40}?\s+(?:[0-9]{1,20}|unlimited)|ulimit: .*)$"
)
_SYSTEMD_LIMIT = lazy_compile(r"^Limit[A-Z]+(?:Soft)?=\S*$")
_SYSTEMD_ANY = lazy_compile(r"^[A-Z][A-Za-z0-9]*=")
_SYSCTL = lazy_compile(r"^(?:fs|net|kernel|vm|user)\.[\w.-]+\s*=\s*\S")
_SYSCTL_LOOSE = lazy_compile(r"^(?:[0-9]{1,20}|[\w./-]+\s*[=:]\s*\S.*|sysctl: .*)$")
_FILE_NR = lazy_compile(r"^[0-9]{1,20}\t[0-9]{1,20}\t[0-9]{1,20}$")
_FILE_NR_LOOSE = lazy_compile(r"^[0-9]{1,20}\s+[0-9]{1,20}\s+[0-9]{1,20}$")
_NPROC_LINE = lazy_compile(r"^nproc:\s*[0-9]{1,20}$")
_NUMBER = lazy_compile(r"^[0-9]{1,19}$")
_CPU_MAX = lazy_compile(r"^(?:max|[0-9]{1,19})\s[0-9]{1,19}$")
_SS_SUMMARY = lazy_compile(
    r"^(?:Total:\s+[0-9]{1,20}|TCP:\s+[0-9]{1,20}\s+\(estab|Transport\s+Total\s+IP\s+IPv6$|(?:RAW|UDP|TCP|INET|FRAG|\*)\s+[0-9]{1,20}\s+(?:[0-9]{1,20}|-)\s+(?:[0-9]{1,20}|-)$)"
)
_PS_NGINX = lazy_compile(
    r"^(?:\S+\s+){0,12}?[0-9]{1,20}\s.*?\bnginx: (?:master|worker|cache manager|cache loader|\w+ agent) process"
)
_PS_HEADER = lazy_compile(r"^(?:[A-Z%]+\s+){0,12}?PID\s+(?:[A-Z%]+\s+){0,12}?(?:CMD|COMMAND|ARGS)$")
_PS_LOOSE = lazy_compile(r"^(?:[0-9]{1,20}(?:\s.*)?|\S+\s+[0-9]{1,20}\s.*)$")
_SS_LISTEN_HEADER = lazy_compile(r"^(?:Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local\s+Address:Port\s+Peer\s+Address:Port")
_SS_LISTEN_ROW = lazy_compile(
    r"^(?:(?:u_str|u_seq|u_dgr|tcp|tcp6|udp|nl)\s+)?(?:LISTEN|UNCONN)\s+[0-9]{1,10}\s+[0-9]{1,10}\s+\S"
)
_FPM_SETTING = lazy_compile(
    r"^(?:/[^:\s]{1,1024}\.conf:(?:[0-9]{1,7}:)?)?\s*(?:pm|listen)(?:\.[a-z_]{1,40}){0,2}\s*=\s*\S"
)
_FPM_TT = lazy_compile(r"^\[[0-9]{2}-[A-Za-z]{3}-[0-9]{4} [0-9:]{8}\] (?:NOTICE|WARNING|ERROR):(?: |$)")
FPM_PS = lazy_compile(r"\bphp-fpm(?:[0-9.]{0,6})?: (?:master process|pool \S)")
_FREE = lazy_compile(r"^(?:total\s+used\s+free\s+shared\s+buff/cache\s+available|(?:Mem|Swap):\s+[0-9])")
_NGINX_V = lazy_compile(
    r"^(?:nginx version: (?:nginx|openresty|freenginx)/|built (?:with|by) \S|TLS SNI support |configure arguments: )"
)
_GETENT_ROW = lazy_compile(r"^[0-9A-Fa-f:.]{2,39}\s+(?:STREAM|DGRAM|RAW)\b")
_GETENT_LOOSE = lazy_compile(r"^[0-9A-Fa-f:.]{2,39}(?:%\S{1,16})?\s+\S")
_COMMAND_ERROR = lazy_compile(
    r"^[\w./-]{1,64}: .{0,400}(?:No such file|Permission denied|not found|not permitted|cannot )"
)
_QUESTION_START = lazy_compile(
    r"^(?:how|why|what|should|can|could|would|is|are|does|do|did|will|where|which|when|any|anyone)\b(?!')",
    re.IGNORECASE,
)
_MENTION = lazy_compile(r"^(?:<@\w+>[,:]?\s*)+")
CONTINUATION = lazy_compile(r"^(?:,|(?:while|client:|server:|request:|upstream:|host:|referrer:)\s)")
PROSE = lazy_compile(r"[A-Za-z]{2}")


def is_question(s: str) -> bool:
    """Whether a line reads as a question (a leading Slack mention does not count)."""
    s = _MENTION.sub("", s)
    return s.endswith("?") or _QUESTION_START.match(s) is not None


def loose_fits(kind: str, s: str) -> bool:
    """Whether ``s`` fits the output of a command of this kind (used only after its prompt)."""
    if _COMMAND_ERROR.match(s):
        return True  # "cat: /proc/9/limits: No such file": the parser explains what to do
    if kind == "ulimit":
        return _ULIMIT_LOOSE.match(s) is not None
    if kind == "nproc":  # `nproc; cat /sys/fs/cgroup/cpu.max` prints a count and "QUOTA PERIOD"
        return _NUMBER.match(s) is not None or _CPU_MAX.match(s) is not None
    if kind == "ss-count":
        return _NUMBER.match(s) is not None
    if kind == "sysctl":
        return _SYSCTL_LOOSE.match(s) is not None
    if kind == "file-nr":
        return _FILE_NR_LOOSE.match(s) is not None
    if kind == "systemctl-show":
        return _SYSTEMD_ANY.match(s) is not None
    if kind == "ps":
        return _PS_LOOSE.match(s) is not None
    if kind == "errorlog":
        return not is_question(s)
    return _loose_backend(kind, s)


def _loose_backend(kind: str, s: str) -> bool:
    """The output of the commands about what sits beside nginx (sockets, php-fpm, names)."""
    if kind == "ss-listen":
        return _SS_LISTEN_ROW.match(s) is not None or _SS_LISTEN_HEADER.match(s) is not None
    if kind == "php-fpm-pool":
        return _FPM_SETTING.match(s) is not None or _FPM_TT.match(s) is not None
    if kind == "ps-fpm":
        return _PS_LOOSE.match(s) is not None or _PS_HEADER.match(s) is not None
    if kind == "getent":
        return _GETENT_LOOSE.match(s) is not None
    return host_follows(kind, s) or host_kind(s) == kind


def _backend_kind(s: str) -> str | None:
    """Shapes of the outputs about what sits beside nginx, each unmistakable on its own."""
    if ("LISTEN" in s or "UNCONN" in s or "Recv-Q" in s) and (_SS_LISTEN_ROW.match(s) or _SS_LISTEN_HEADER.match(s)):
        return "ss-listen"
    if ("pm" in s or "listen" in s) and _FPM_SETTING.match(s):
        return "php-fpm-pool"
    if s.startswith("[") and _FPM_TT.match(s):
        return "php-fpm-pool"
    if "php-fpm" in s and FPM_PS.search(s):
        return "ps-fpm"
    if _FREE.match(s):
        return "free"
    if _GETENT_ROW.match(s):
        return "getent"
    return None


def strong_kind(s: str, raw: str) -> str | None:
    """Kinds a line proves on its own, whatever precedes it."""
    if _T_VERDICT.match(s):
        return "nginx-t"
    if _NGINX_V.match(s):
        return "nginx-V"
    if _LIMITS_HEADER.match(s) or (s.startswith("Max ") and _LIMITS_ROW.match(s)):
        return "proc-limits"
    if parse_line(raw).has_prefix:
        return "errorlog"
    if _ULIMIT_ROW.match(s):
        return "ulimit"
    if s.startswith("Limit") and _SYSTEMD_LIMIT.match(s):
        return "systemctl-show"
    if _SYSCTL.match(s):
        return "sysctl"
    if _FILE_NR.match(s):
        return "file-nr"
    if _NPROC_LINE.match(s):
        return "nproc"
    if _SS_SUMMARY.match(s):
        return "ss-s"
    if "nginx: " in s and _PS_NGINX.match(s):
        return "ps"
    backend = _backend_kind(s)
    if backend is not None:
        return backend
    if "PID" in s and _PS_HEADER.match(s):
        return "ps"
    return host_kind(s)
