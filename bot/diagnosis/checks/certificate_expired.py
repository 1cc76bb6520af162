"""A pasted certificate is past its ``notAfter`` (``openssl x509 -noout -subject -dates``).

nginx loads an expired certificate without a word; clients refuse it, and the error log
shows at most their alerts (``sslv3 alert certificate expired:SSL alert number 45`` at
``info``). The dates settle it: the certificate nginx serves has expired, and which one.
"""

from __future__ import annotations

from bot.diagnosis.checks.context import CheckContext, Facts

READS = ("handshake",)


def check(c: CheckContext) -> Facts | None:
    """The first expired certificate, with its name, dates and files."""
    if not c.ev.certificates:
        return None
    from datetime import UTC, datetime  # only pasted certificates need the clock

    now = datetime.now(UTC)
    for cert in c.ev.certificates:
        if cert.not_after is None or not cert.expired(now):
            continue
        files = [f.path for f in cert.files if not f.missing]
        return {
            "name": cert.common_name or cert.subject or "",
            "not_after": cert.not_after.strftime("%Y-%m-%d %H:%M UTC"),
            "days": -(cert.days_left(now) or 0),
            "cert_file": files[0] if files else "",
            "lines": c.count("handshake"),
            "samples": c.samples("handshake"),
        }
    return None
