"""A certificate or key file nginx is configured with is not there (``ls -l``, ``openssl x509``).

``cannot load certificate "PATH": BIO_new_file() failed`` stops ``nginx -t`` and every
reload; ``ls: cannot access 'PATH': No such file`` (or openssl's ``Could not open file``)
shows the file is gone, usually a renewal that wrote elsewhere or a symlink to a removed
``live/`` directory. The ``ssl_certificate*`` lines of ``nginx -T`` that name it say where to fix.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("load",)


def check(c: CheckContext) -> Facts | None:
    """The first missing file, and the ``ssl_certificate``/``ssl_certificate_key`` lines naming it."""
    for cert in c.ev.certificates:
        missing = [f.path for f in cert.files if f.missing]
        if not missing and cert.unreadable and not any(f.path == cert.unreadable for f in cert.files):
            missing = [cert.unreadable]
        if not missing:
            continue
        path = missing[0]
        places: list[dict[str, Any]] = []
        if c.ev.config is not None:
            for name in ("ssl_certificate", "ssl_certificate_key"):
                places += [
                    {"directive": name, "file": d.file, "line": d.line}
                    for d in c.ev.config.find(name)
                    if d.args and d.args[0] == path
                ]
        present = [f.path for f in cert.files if not f.missing]
        return {
            "path": path,
            "places": places[:4],
            "present": present,
            "lines": c.count("load"),
            "samples": c.samples("load"),
        }
    return None
