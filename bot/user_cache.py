"""Where nginx-triage keeps what it can rebuild: the user's cache directory (XDG).

Kept apart from the caches themselves so that the cheapest of them (``bot.dataclass_code_cache``,
installed when ``bot`` is imported) does not import the KB loader to find it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nginx-triage``, else ``~/.cache/nginx-triage`` (XDG base directories)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nginx-triage"
