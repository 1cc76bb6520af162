"""Pasted evidence, parsed: ``sniff`` cuts a paste into typed sections, one parser reads each.

The flow's first stage after the knowledge base. Everything here is pure: text in, frozen
data out, problems as ``EvidenceError`` / ``ConfigParseError`` with what to paste instead.
``SECTION_KINDS`` says which parser reads which section and what kind of evidence it proves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from bot.evidence.errorlog import LogLine, parse_line
    from bot.evidence.kinds import SECTION_KINDS, SectionKind, is_evidence
    from bot.evidence.limits.conf_lines import limits_conf_lines
    from bot.evidence.limits.descriptors import parse_proc_limits, parse_systemctl_show, parse_ulimit
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

# Names load on first use (PEP 562), so that importing one part of this package does not
# import all of it: start-up time is part of the CLI (issue 11).
_LAZY = {
    "LogLine": "bot.evidence.errorlog",
    "parse_line": "bot.evidence.errorlog",
    "SECTION_KINDS": "bot.evidence.kinds",
    "SectionKind": "bot.evidence.kinds",
    "is_evidence": "bot.evidence.kinds",
    "limits_conf_lines": "bot.evidence.limits.conf_lines",
    "parse_proc_limits": "bot.evidence.limits.descriptors",
    "parse_systemctl_show": "bot.evidence.limits.descriptors",
    "parse_ulimit": "bot.evidence.limits.descriptors",
    "parse_cpus": "bot.evidence.limits.kernel",
    "parse_file_nr": "bot.evidence.limits.kernel",
    "parse_nproc": "bot.evidence.limits.kernel",
    "parse_sysctl": "bot.evidence.limits.kernel",
    "CpuCount": "bot.evidence.limits.model",
    "EvidenceError": "bot.evidence.limits.model",
    "FileNr": "bot.evidence.limits.model",
    "KernelLimits": "bot.evidence.limits.model",
    "NginxProcess": "bot.evidence.limits.model",
    "ProcLimits": "bot.evidence.limits.model",
    "SocketSummary": "bot.evidence.limits.model",
    "SystemdLimits": "bot.evidence.limits.model",
    "UlimitValues": "bot.evidence.limits.model",
    "parse_ps": "bot.evidence.limits.processes",
    "parse_ss_count": "bot.evidence.limits.sockets",
    "parse_ss_summary": "bot.evidence.limits.sockets",
    "PASS_DIRECTIVES": "bot.evidence.nginx_config.model",
    "PASTED": "bot.evidence.nginx_config.model",
    "ConfigIssue": "bot.evidence.nginx_config.model",
    "ConfigParseError": "bot.evidence.nginx_config.model",
    "Directive": "bot.evidence.nginx_config.model",
    "Listen": "bot.evidence.nginx_config.model",
    "NginxConfig": "bot.evidence.nginx_config.model",
    "ProxyPass": "bot.evidence.nginx_config.model",
    "Upstream": "bot.evidence.nginx_config.model",
    "UpstreamServer": "bot.evidence.nginx_config.model",
    "Mapper": "bot.evidence.nginx_config.parse",
    "looks_like_config": "bot.evidence.nginx_config.parse",
    "parse_dump": "bot.evidence.nginx_config.parse",
    "InputError": "bot.evidence.reading",
    "check_path": "bot.evidence.reading",
    "check_sample": "bot.evidence.reading",
    "iter_lines_binary": "bot.evidence.reading",
    "open_input": "bot.evidence.reading",
    "command_kind": "bot.evidence.sections.prompts",
    "prompt_command": "bot.evidence.sections.prompts",
    "Section": "bot.evidence.sections.sniff",
    "sniff": "bot.evidence.sections.sniff",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
