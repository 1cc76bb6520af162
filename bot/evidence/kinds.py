"""The one evidence-kind vocabulary: what ``sniff`` calls a section, how it is read, what it proves.

``sniff`` labels each section of a paste with a *section kind* (the shape of the text:
``proc-limits``, ``file-nr``, ``ss-count`` ...). Several shapes can prove the same *kind of
evidence*, the vocabulary of the knowledge base: ``kb/evidence.yaml`` keys, which KB
entries name in ``needs`` and a diagnosis lists as read (``sysctl`` and ``file-nr`` both
prove ``sysctl-fs``). This table is the only place that ties the two together, and the only
list of section kinds: ``bot.diagnosis.collect`` reads every section through it, and a test
holds its keys to what ``sniff`` emits and its ``proves`` to ``kb/evidence.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.evidence.backend.fpm import parse_fpm_pools, parse_fpm_ps
from bot.evidence.backend.host import parse_free, parse_getent, parse_nginx_build
from bot.evidence.backend.listening import parse_listening
from bot.evidence.backend.usage import read_nginx_ps
from bot.evidence.limits.descriptors import parse_proc_limits, parse_systemctl_show, parse_ulimit
from bot.evidence.limits.kernel import parse_cpus, parse_file_nr, parse_sysctl
from bot.evidence.limits.sockets import parse_ss_count, parse_ss_summary
from bot.evidence.nginx_config.parse import Mapper, parse_dump
from bot.evidence.system.access_log import parse_access_log
from bot.evidence.system.certificate import parse_certificate
from bot.evidence.system.disk import parse_df
from bot.evidence.system.permissions import parse_namei
from bot.evidence.system.run_env import parse_run_environment


@dataclass(frozen=True, slots=True)
class SectionKind:
    """How a section of one kind is read, what kind of evidence it is, and where it is kept."""

    parse: Callable[..., object] | None
    """Text to plain data; None for text nothing reads on its own (``unknown``)."""
    proves: str | None
    """The kind of evidence (a key of ``kb/evidence.yaml``); None for text that is no evidence."""
    fills: str | None
    """The field of ``bot.diagnosis.collect.Collected`` that keeps what was read."""
    spreads: bool = False
    """``parse`` takes ``map_files`` to spread its work (the files of an ``nginx -T`` dump)."""

    def read(self, text: str, map_files: Mapper = map) -> object:
        """The section's text as plain data; raises what the parser raises for text it cannot use."""
        if self.parse is None:
            raise ValueError("a section of this kind has no parser")
        return self.parse(text, map_files=map_files) if self.spreads else self.parse(text)


SECTION_KINDS: Mapping[str, SectionKind] = MappingProxyType(
    {
        "errorlog": SectionKind(str.splitlines, "error-log", "grouper"),
        "nginx-T": SectionKind(parse_dump, "nginx-T", "config", spreads=True),
        "nginx-t": SectionKind(str.splitlines, "nginx-t", "nginx_t"),
        "proc-limits": SectionKind(parse_proc_limits, "worker-limits", "limits"),
        "ulimit": SectionKind(parse_ulimit, "ulimit", "ulimit"),
        "systemctl-show": SectionKind(parse_systemctl_show, "systemctl-limitnofile", "systemd"),
        "sysctl": SectionKind(parse_sysctl, "sysctl-fs", "kernel"),
        "file-nr": SectionKind(parse_file_nr, "sysctl-fs", "file_nr"),
        "nproc": SectionKind(parse_cpus, "nproc", "nproc"),
        "ss-s": SectionKind(parse_ss_summary, "ss-s", "sockets"),
        "ss-count": SectionKind(parse_ss_count, "ss-s", "established"),
        "ps": SectionKind(read_nginx_ps, "ps-nginx", "processes"),
        "ps-fpm": SectionKind(parse_fpm_ps, "ps-php-fpm", "fpm_processes"),
        "ss-listen": SectionKind(parse_listening, "listening-sockets", "listening"),
        "php-fpm-pool": SectionKind(parse_fpm_pools, "php-fpm-pool", "fpm_pools"),
        "free": SectionKind(parse_free, "memory", "memory"),
        "getent": SectionKind(parse_getent, "dns", "resolutions"),
        "nginx-V": SectionKind(parse_nginx_build, "nginx-V", "build"),
        "df": SectionKind(parse_df, "disk-usage", "disk"),
        "namei": SectionKind(parse_namei, "file-permissions", "permissions"),
        "x509": SectionKind(parse_certificate, "certificate", "certificates"),
        "access-log": SectionKind(parse_access_log, "access-log", "access"),
        "run-env": SectionKind(parse_run_environment, "environment", "run_env"),
        "question": SectionKind(str.strip, None, "questions"),
        "unknown": SectionKind(None, None, None),
    }
)
"""Section kind (what ``sniff`` emits) -> how it is read. A ``proc-limits`` table proves
``worker-limits`` until ``Collected.limits_role`` shows it is the master's."""


def is_evidence(kind: str) -> bool:
    """Whether a section of this kind is evidence (and not a question or unplaced text)."""
    return SECTION_KINDS[kind].proves is not None
