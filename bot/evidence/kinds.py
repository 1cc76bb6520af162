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
from functools import cache
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.evidence.nginx_config.parse import Mapper


@dataclass(frozen=True, slots=True)
class SectionKind:
    """How a section of one kind is read, what kind of evidence it is, and where it is kept."""

    parse: Callable[..., object] | str | None
    """Text to plain data, or where that function is (``"module:name"``, imported on first use, so
    a two-line paste never imports the parsers of the twenty other kinds); None for text nothing
    reads on its own (``unknown``)."""
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
        parse = _parser(self.parse) if isinstance(self.parse, str) else self.parse
        return parse(text, map_files=map_files) if self.spreads else parse(text)


@cache
def _parser(where: str) -> Callable[..., object]:
    """The function at ``"module:name"``."""
    module, name = where.split(":")
    parse: Callable[..., object] = getattr(import_module(module), name)
    return parse


SECTION_KINDS: Mapping[str, SectionKind] = MappingProxyType(
    {
        "errorlog": SectionKind(str.splitlines, "error-log", "grouper"),
        "nginx-T": SectionKind("bot.evidence.nginx_config.parse:parse_dump", "nginx-T", "config", spreads=True),
        "nginx-t": SectionKind(str.splitlines, "nginx-t", "nginx_t"),
        "proc-limits": SectionKind("bot.evidence.limits.descriptors:parse_proc_limits", "worker-limits", "limits"),
        "ulimit": SectionKind("bot.evidence.limits.descriptors:parse_ulimit", "ulimit", "ulimit"),
        "systemctl-show": SectionKind(
            "bot.evidence.limits.descriptors:parse_systemctl_show", "systemctl-limitnofile", "systemd"
        ),
        "sysctl": SectionKind("bot.evidence.limits.kernel:parse_sysctl", "sysctl-fs", "kernel"),
        "file-nr": SectionKind("bot.evidence.limits.kernel:parse_file_nr", "sysctl-fs", "file_nr"),
        "nproc": SectionKind("bot.evidence.limits.kernel:parse_cpus", "nproc", "nproc"),
        "ss-s": SectionKind("bot.evidence.limits.sockets:parse_ss_summary", "ss-s", "sockets"),
        "ss-count": SectionKind("bot.evidence.limits.sockets:parse_ss_count", "ss-s", "established"),
        "ps": SectionKind("bot.evidence.backend.usage:read_nginx_ps", "ps-nginx", "processes"),
        "ps-fpm": SectionKind("bot.evidence.backend.fpm:parse_fpm_ps", "ps-php-fpm", "fpm_processes"),
        "ss-listen": SectionKind("bot.evidence.backend.listening:parse_listening", "listening-sockets", "listening"),
        "php-fpm-pool": SectionKind("bot.evidence.backend.fpm:parse_fpm_pools", "php-fpm-pool", "fpm_pools"),
        "free": SectionKind("bot.evidence.backend.host:parse_free", "memory", "memory"),
        "getent": SectionKind("bot.evidence.backend.host:parse_getent", "dns", "resolutions"),
        "nginx-V": SectionKind("bot.evidence.backend.host:parse_nginx_build", "nginx-V", "build"),
        "df": SectionKind("bot.evidence.system.disk:parse_df", "disk-usage", "disk"),
        "namei": SectionKind("bot.evidence.system.permissions:parse_namei", "file-permissions", "permissions"),
        "x509": SectionKind("bot.evidence.system.certificate:parse_certificate", "certificate", "certificates"),
        "access-log": SectionKind("bot.evidence.system.access_log:parse_access_log", "access-log", "access"),
        "run-env": SectionKind("bot.evidence.system.run_env:parse_run_environment", "environment", "run_env"),
        "question": SectionKind(str.strip, None, "questions"),
        "unknown": SectionKind(None, None, None),
    }
)
"""Section kind (what ``sniff`` emits) -> how it is read. A ``proc-limits`` table proves
``worker-limits`` until ``Collected.limits_role`` shows it is the master's."""


def is_evidence(kind: str) -> bool:
    """Whether a section of this kind is evidence (and not a question or unplaced text)."""
    return SECTION_KINDS[kind].proves is not None
