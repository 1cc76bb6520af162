"""A module whose docstring talks reload, worker_connections and systemctl at length: documentation, not output."""

import re

LIMIT_RE = re.compile(r"^\s*worker_connections\s+(\d{1,10})\s*;")  # a regex, not a sentence
COMMAND = "systemctl show nginx -p LimitNOFILE -p LimitNOFILESoft"  # a bare command line
LABEL = "worker_connections"  # one word


def advice(n: int) -> str:
    """Raise worker_connections and reload nginx: still a docstring, still skipped."""
    return f"Raise worker_connections to {n} in the events block, then run nginx -t and reload nginx."  # planted
