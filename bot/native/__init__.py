"""Optional C accelerators. ``fastscan`` is the compiled module, or None when it is not built.

The extension is built by ``pip install`` when a C compiler and Python headers exist; without
them the install still succeeds and every caller falls back to the pure-Python path.
Set ``NGINX_TRIAGE_NO_NATIVE=1`` to force the pure-Python path.
"""

from __future__ import annotations

import os
from types import ModuleType

fastscan: ModuleType | None
if os.environ.get("NGINX_TRIAGE_NO_NATIVE"):
    fastscan = None
else:
    try:
        from bot.native import _fastscan as fastscan
    except ImportError:  # not compiled here: the pure-Python path is the fallback
        fastscan = None

__all__ = ["fastscan"]
