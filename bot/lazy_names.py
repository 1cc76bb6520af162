"""Package names that load on first use (PEP 562), shared by the stage packages.

Why: importing one part of ``bot.evidence``, ``bot.diagnosis`` or ``bot.grouping`` must not
import all of it, because start-up time is part of the CLI (a two-line ``diagnose`` pays for
every module it imports). Each package lists which module holds each of its public names.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from importlib import import_module


def lazy_getattr(
    package: str, names: dict[str, str], namespace: MutableMapping[str, object]
) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports ``names[name]`` on first use and keeps the value in
    ``namespace`` (the package's globals), so later lookups never come here again."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
