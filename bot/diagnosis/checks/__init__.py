"""One module per finding check, named like its ``kb/findings/<id>.yaml`` (``-`` becomes ``_``).

Each module has ``READS`` (the ``reads`` slots its YAML must give) and ``check(context)``,
which returns the facts the finding's templates name, or None. The list below is explicit
so a check that fails to import fails loudly; a meta-test compares it with the YAML files
and with the modules in this directory.
"""

from __future__ import annotations

from types import ModuleType

from bot.diagnosis.checks import (
    cache_manager_connections,
    certificate_expired,
    certificate_file_missing,
    disk_has_room,
    failing_requests,
    fastcgi_pool_saturated,
    fd_limit_at_connections,
    fd_limit_below_connections,
    filesystem_full,
    limits_conf_ignored_by_systemd,
    limits_read_from_master,
    localhost_dual_stack,
    old_workers_keep_limits,
    path_not_searchable,
    proxy_loop,
    restart_needed,
    setrlimit_not_permitted,
    slow_upstream,
    uneven_worker_load,
    worker_processes_vs_cpus,
)
from bot.diagnosis.checks.context import Check, CheckContext, Facts

_MODULES: tuple[ModuleType, ...] = (
    cache_manager_connections,
    certificate_expired,
    certificate_file_missing,
    disk_has_room,
    failing_requests,
    fastcgi_pool_saturated,
    fd_limit_at_connections,
    fd_limit_below_connections,
    filesystem_full,
    limits_conf_ignored_by_systemd,
    limits_read_from_master,
    localhost_dual_stack,
    old_workers_keep_limits,
    path_not_searchable,
    proxy_loop,
    restart_needed,
    setrlimit_not_permitted,
    slow_upstream,
    uneven_worker_load,
    worker_processes_vs_cpus,
)


def finding_id(module: ModuleType) -> str:
    """The finding id a check module serves: its name with ``-`` for ``_``."""
    return module.__name__.rsplit(".", 1)[-1].replace("_", "-")


CHECKS: dict[str, Check] = {finding_id(m): m.check for m in _MODULES}
"""Finding id -> its check."""

READS: dict[str, tuple[str, ...]] = {finding_id(m): tuple(m.READS) for m in _MODULES}
"""Finding id -> the ``reads`` slots its check uses."""

__all__ = ["CHECKS", "READS", "Check", "CheckContext", "Facts", "finding_id"]
