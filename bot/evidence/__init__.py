"""Pasted evidence, parsed: ``sniff`` cuts a paste into typed sections, one parser reads each.

The flow's first stage after the knowledge base. Everything here is pure: text in, frozen
data out, problems as ``EvidenceError`` / ``ConfigParseError`` with what to paste instead.
``SECTION_KINDS`` says which parser reads which section and what kind of evidence it proves.
"""

from bot.evidence.errorlog import LogLine, parse_line
from bot.evidence.kinds import SECTION_KINDS, SectionKind, is_evidence
from bot.evidence.limits.descriptors import limits_conf_lines, parse_proc_limits, parse_systemctl_show, parse_ulimit
from bot.evidence.limits.kernel import parse_cpus, parse_file_nr, parse_nproc, parse_sysctl
from bot.evidence.limits.model import (
    CpuCount,
    EvidenceError,
    FileNr,
    KernelLimits,
    NginxProcess,
    ProcLimits,
    SocketSummary,
    SystemdLimits,
    UlimitValues,
)
from bot.evidence.limits.processes import parse_ps
from bot.evidence.limits.sockets import parse_ss_count, parse_ss_summary
from bot.evidence.nginx_config.model import (
    PASS_DIRECTIVES,
    PASTED,
    ConfigIssue,
    ConfigParseError,
    Directive,
    Listen,
    NginxConfig,
    ProxyPass,
    Upstream,
    UpstreamServer,
)
from bot.evidence.nginx_config.parse import Mapper, looks_like_config, parse_dump
from bot.evidence.reading import InputError, check_path, check_sample, iter_lines_binary, open_input
from bot.evidence.sections.prompts import command_kind, prompt_command
from bot.evidence.sections.sniff import Section, sniff

__all__ = [
    "PASS_DIRECTIVES",
    "PASTED",
    "SECTION_KINDS",
    "ConfigIssue",
    "ConfigParseError",
    "CpuCount",
    "Directive",
    "EvidenceError",
    "FileNr",
    "InputError",
    "KernelLimits",
    "Listen",
    "LogLine",
    "Mapper",
    "NginxConfig",
    "NginxProcess",
    "ProcLimits",
    "ProxyPass",
    "Section",
    "SectionKind",
    "SocketSummary",
    "SystemdLimits",
    "UlimitValues",
    "Upstream",
    "UpstreamServer",
    "check_path",
    "check_sample",
    "command_kind",
    "is_evidence",
    "iter_lines_binary",
    "limits_conf_lines",
    "looks_like_config",
    "open_input",
    "parse_cpus",
    "parse_dump",
    "parse_file_nr",
    "parse_line",
    "parse_nproc",
    "parse_proc_limits",
    "parse_ps",
    "parse_ss_count",
    "parse_ss_summary",
    "parse_sysctl",
    "parse_systemctl_show",
    "parse_ulimit",
    "prompt_command",
    "sniff",
]
