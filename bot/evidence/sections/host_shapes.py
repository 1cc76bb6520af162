"""Shapes of the host outputs the bot asks for: ``df``, ``namei -l``, ``openssl x509`` + ``ls -l``,
access-log lines and ``systemctl status`` / ``/proc/1/cgroup``.

``host_kind`` names a line that proves its kind on its own (a ``df`` header, a ``namei -l``
row, ``notAfter=``, a combined-format request line, ``Active: active (running)``);
``host_follows`` says whether a line continues such a section (a ``df`` row under its
header, the bare user names ``ps -o user=`` prints after ``namei``, ``ls -l`` of the
certificate files). Every pattern is anchored and bounded: one pass per line.
"""

from __future__ import annotations

from bot.evidence.system import shapes
from bot.lazy_re import lazy_compile

_OPENSSL_ERROR = lazy_compile(r"^[0-9A-F]{8,16}:error:[0-9A-Fa-f]{1,16}:")


def host_kind(s: str) -> str | None:
    """The host kind a line proves on its own, or None."""
    if s.startswith("Filesystem") and (shapes.DF_BLOCKS_HEADER.match(s) or shapes.DF_INODES_HEADER.match(s)):
        return "df"
    if s.startswith("f: /") or (s[:1] in "dl-" and shapes.NAMEI_ROW.match(s) and not shapes.LS_ROW.match(s)):
        return "namei"
    if s.startswith(("subject=", "notBefore=", "notAfter=")) and (
        shapes.X509_SUBJECT.match(s) or shapes.X509_DATE.match(s)
    ):
        return "x509"
    if '] "' in s and shapes.ACCESS_LINE.match(s):
        return "access-log"
    if (
        shapes.SYSTEMD_UNIT.match(s)
        or (
            s.startswith(("Loaded: ", "Active: "))
            and (shapes.SYSTEMD_LOADED.match(s) or shapes.SYSTEMD_ACTIVE.match(s))
        )
        or (s[:1].isdigit() and shapes.CGROUP_LINE.match(s))
    ):
        return "run-env"
    return None


def host_follows(kind: str, s: str) -> bool:
    """Whether ``s`` continues a section of ``kind`` (after its prompt or its first lines)."""
    if kind == "df":
        return shapes.DF_ROW.match(s) is not None or (" " not in s and s.startswith("/") and len(s) <= 4096)
    if kind == "namei":
        return shapes.NAMEI_MISSING.match(s) is not None or shapes.NAMEI_USER.match(s) is not None
    if kind == "x509":
        return (
            shapes.LS_ROW.match(s) is not None
            or shapes.LS_MISSING.match(s) is not None
            or shapes.X509_UNLOADABLE.match(s) is not None
            or _OPENSSL_ERROR.match(s) is not None
        )
    return False
