"""``systemctl status nginx | head -3; cat /proc/1/cgroup | head -3``: how nginx is run here.

systemd prints ``● nginx.service - DESCRIPTION``, ``Loaded: loaded (PATH; enabled; ...)`` and
``Active: active (running) since ...``. PID 1's cgroup says whether this is a container:
``/docker/<id>`` or ``docker-<id>.scope`` (Docker), ``/kubepods...`` (Kubernetes),
``/init.scope`` (a host whose PID 1 is systemd). A bare ``0::/`` is a private cgroup
namespace (Docker on cgroup v2) or a host without systemd: it does not tell which.
"""

from __future__ import annotations

from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines
from bot.evidence.sections.prompts import prompt_command
from bot.evidence.system.model import RunEnvironment
from bot.evidence.system.shapes import CGROUP_LINE as CGROUP
from bot.evidence.system.shapes import SYSTEMD_ACTIVE as ACTIVE
from bot.evidence.system.shapes import SYSTEMD_LOADED as LOADED
from bot.evidence.system.shapes import SYSTEMD_UNIT as UNIT
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_CONTAINERS = (
    (lazy_compile(r"kubepods"), "kubernetes"),
    (lazy_compile(r"/docker[/-]|/libpod[/-]|/containerd/|/lxc(?:\.payload)?[./]"), "container"),
    (lazy_compile(r"^/init\.scope$"), "systemd"),
)


def parse_run_environment(text: str) -> RunEnvironment:
    """systemd's unit and state when ``systemctl status`` printed one, else what PID 1's cgroup says."""
    unit = active = cgroup = None
    container: str | None = None
    for line in output_lines(text):
        if prompt_command(line) is not None:
            continue
        s = line.strip()
        if (u := UNIT.match(s)) is not None:
            unit = unit or u.group("unit")
        elif (a := ACTIVE.match(s)) is not None:
            active = active or a.group("state")
        elif (c := CGROUP.match(s)) is not None:
            path = c.group("path")
            cgroup = cgroup if cgroup and cgroup != "/" else path
            for pattern, kind in _CONTAINERS:
                if container is None and pattern.search(path):
                    container = kind
        elif LOADED.match(s) is not None:
            unit = unit or "nginx.service"
    if unit is None and active is None and cgroup is None:
        raise EvidenceError(say("host.no_run_env"))
    if container in ("container", "kubernetes"):
        kind = container
    elif unit is not None or container == "systemd":
        kind = "systemd"
    else:
        kind = "unknown"
    return RunEnvironment(kind, unit, active, cgroup)
