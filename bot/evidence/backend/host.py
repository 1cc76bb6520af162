"""The host around nginx: ``free -m``, ``getent hosts|ahosts NAME``, ``nginx -V``."""

from __future__ import annotations

import re

from bot.evidence.backend.model import Memory, NginxBuild, Resolution
from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines, refuse_command_error
from bot.evidence.sections.prompts import prompt_command
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

FREE_COMMAND = "free -m"
BUILD_COMMAND = "nginx -V 2>&1"

_MEM = lazy_compile(r"^Mem:\s+(?P<nums>(?:[0-9]{1,12}(?:[.,][0-9]{1,3})?[KMGT]?i?B?\s*){3,6})$")
_NUMBER = lazy_compile(r"^(?P<n>[0-9]{1,12}(?:[.,][0-9]{1,3})?)(?P<unit>[KMGT]?)i?B?$")
_UNIT_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024}
_GETENT = lazy_compile(r"\bgetent\s+a?hosts\s+(?P<name>\S{1,253})")
_ADDRESS = lazy_compile(
    r"^(?P<addr>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]{2,39}(?:%\S{1,16})?)(?:\s+(?P<rest>.{0,512}))?$"
)
_VERSION = lazy_compile(r"^nginx version: (?P<v>\S{1,64})")
_CONFIGURE = lazy_compile(r"^configure arguments: (?P<args>.{0,8192})$")


def _mb(token: str, unit_default: float) -> int:
    m = _NUMBER.match(token)
    if m is None:
        raise EvidenceError(say("evidence.no_memory", command=FREE_COMMAND))
    unit = _UNIT_MB[m.group("unit")] if m.group("unit") else unit_default
    return int(float(m.group("n").replace(",", ".")) * unit)


_FREE_UNITS = {"-b": 1 / (1024 * 1024), "-k": 1 / 1024, "-m": 1.0, "-g": 1024.0}


def _free_scale(cmd: str) -> float:
    """MiB per printed unit: ``free`` alone prints KiB, ``-m`` MiB, ``-g`` GiB (``-h`` has suffixes)."""
    for flag, scale in _FREE_UNITS.items():
        if re.search(r"(?:^|\s)" + flag + r"(?:\s|$)", cmd):
            return scale
    return 1 / 1024 if re.fullmatch(r"(?:sudo\s+)?free", cmd.strip()) else 1.0


def parse_free(text: str) -> Memory:
    """The ``Mem:`` row of ``free -m`` (``free``, ``-g`` and ``-h`` units are read too)."""
    lines = output_lines(text)
    scale = 1.0
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            scale = _free_scale(cmd)
            continue
        m = _MEM.match(line.strip())
        if m is None:
            continue
        values = [_mb(t, scale) for t in m.group("nums").split()]
        if len(values) < 3:  # digits run together ("Mem: 1234567890123456 0"): not free's row
            continue
        available = values[5] if len(values) >= 6 else None
        return Memory(values[0], values[1], values[2], available)
    refuse_command_error(lines, FREE_COMMAND)
    raise EvidenceError(say("evidence.no_memory", command=FREE_COMMAND))


def parse_getent(text: str) -> Resolution:
    """The addresses ``getent hosts NAME`` or ``getent ahosts NAME`` printed, each once, in order."""
    lines = output_lines(text)
    name: str | None = None
    addresses: list[str] = []
    for line in lines:
        cmd = prompt_command(line)
        if cmd is not None:
            g = _GETENT.search(cmd)
            name = g.group("name") if g else name
            continue
        m = _ADDRESS.match(line.strip())
        if m is None:
            continue
        rest = (m.group("rest") or "").split()
        if name is None and rest and rest[0] not in ("STREAM", "DGRAM", "RAW"):
            name = rest[0]
        elif name is None and len(rest) >= 2:
            name = rest[1]
        if m.group("addr") not in addresses:
            addresses.append(m.group("addr"))
    if addresses:
        return Resolution(name, tuple(addresses))
    refuse_command_error(lines, "getent ahosts localhost")
    raise EvidenceError(say("evidence.no_addresses"))


def parse_nginx_build(text: str) -> NginxBuild:
    """Version, compiled-in modules and default paths from ``nginx -V``."""
    version: str | None = None
    modules: list[str] = []
    paths: dict[str, str] = {}
    for line in output_lines(text):
        s = line.strip()
        v = _VERSION.match(s)
        if v is not None:
            version = v.group("v")
            continue
        c = _CONFIGURE.match(s)
        if c is None:
            continue
        for arg in re.findall(r"--([a-z0-9_-]{1,64})(?:=('[^']{0,2048}'|\S{1,2048}))?", c.group("args")):
            key, value = arg
            if key.startswith("with-") and not value:
                modules.append(key.removeprefix("with-"))
            elif key.endswith("-path") and value:
                paths[key] = value.strip("'")
            elif key.startswith("with-") and value in ("dynamic",):
                modules.append(key.removeprefix("with-") + "=dynamic")
    if version is None:
        raise EvidenceError(say("evidence.no_build", command=BUILD_COMMAND))
    return NginxBuild(version, tuple(modules), paths)
