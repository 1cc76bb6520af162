"""Regenerate the incidents' ``nginx -T`` dumps in kb/findings/cases/ with the real nginx.

Each tree is written to a temporary directory and bind-mounted over ``/etc/nginx`` (and
``/etc/ssl`` for the certificate) in a private mount namespace (``unshare --mount``, root),
so the dump names ``/etc/nginx/...`` exactly as on the user's Debian host. Run as root:
``.venv/bin/python -m tests.incidents.capture_cases``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.incidents.trees import NGINX, incidents, write_tree

CASES = Path(__file__).resolve().parents[2] / "kb" / "findings" / "cases"
CAPTURED = ("localhost-dual-stack", "php-fpm-backlog", "emfile-at-connections", "uneven-worker-load")


def capture(name: str) -> str:
    """``nginx -T`` of one incident's tree as it reads at /etc/nginx."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, incidents()[name])
        for path in (root / "etc" / "nginx").rglob("*"):
            if path.is_file():
                path.write_text(path.read_text().replace(f"{root}/", "/"))
        mounts = f"mount --bind {root}/etc/nginx /etc/nginx"
        if (root / "etc" / "ssl").exists():
            mounts += f" && mount --bind {root}/etc/ssl /etc/ssl"
        script = f"{mounts} && {NGINX} -T 2>&1"
        proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise SystemExit(proc.stdout + proc.stderr)
        return proc.stdout


def main() -> None:
    for name in CAPTURED:
        out = CASES / f"nginx-T-{name}.txt"
        out.write_text(capture(name))
        print(out, file=sys.stderr)


if __name__ == "__main__":
    main()
