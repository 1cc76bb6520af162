"""``openssl x509 -in CERT -noout -subject -dates; ls -l CERT KEY``: names, dates and the files.

openssl prints ``subject=...``, ``notBefore=Jan  1 00:00:00 2025 GMT`` and ``notAfter=...``;
when it cannot read the file it says ``Could not open file or uri for loading certificate
from PATH`` (OpenSSL 3) or ``unable to load certificate``. ``ls -l`` prints one line per file
or ``ls: cannot access 'PATH': No such file or directory``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.evidence.limits.model import EvidenceError
from bot.evidence.limits.output import output_lines
from bot.evidence.sections.prompts import prompt_command
from bot.evidence.system.model import Certificate, FileEntry
from bot.evidence.system.shapes import LS_MISSING, LS_ROW
from bot.evidence.system.shapes import X509_DATE as DATE
from bot.evidence.system.shapes import X509_SUBJECT as SUBJECT
from bot.evidence.system.shapes import X509_UNLOADABLE as UNLOADABLE
from bot.knowledge.texts import say

CERT_COMMAND = "openssl x509 -in CERT -noout -subject -dates; ls -l CERT KEY"
MAX_FILES = 64

_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}


def _date(m: re.Match[str]) -> datetime | None:
    month = _MONTHS.get(m.group("mon"))
    hh, mm, ss = (int(x) for x in m.group("t").split(":"))
    try:
        return datetime(int(m.group("y")), month or 0, int(m.group("d")), hh, mm, ss, tzinfo=UTC)
    except ValueError:
        return None


def parse_certificate(text: str) -> Certificate:
    """Subject and validity of the certificate, and the ``ls -l`` line (or absence) of each file."""
    subject: str | None = None
    dates: dict[str, datetime | None] = {}
    files: list[FileEntry] = []
    unreadable: str | None = None
    for line in output_lines(text):
        if prompt_command(line) is not None:
            continue
        s = line.strip()
        if (m := SUBJECT.match(s)) is not None:
            subject = subject or m.group("v").strip()
        elif (d := DATE.match(s)) is not None:
            dates.setdefault(d.group("k"), _date(d))
        elif (row := LS_ROW.match(s)) is not None and len(files) < MAX_FILES:
            path = row.group("path").partition(" -> ")[0]
            files.append(FileEntry(path, row.group("mode"), row.group("owner"), row.group("group")))
        elif (gone := LS_MISSING.match(s)) is not None and len(files) < MAX_FILES:
            files.append(FileEntry(gone.group("path"), missing=True))
        elif (bad := UNLOADABLE.match(s)) is not None:
            unreadable = unreadable or bad.group("path") or ""
    if subject is None and not dates and not files and unreadable is None:
        raise EvidenceError(say("host.no_certificate", command=CERT_COMMAND))
    return Certificate(subject, dates.get("notBefore"), dates.get("notAfter"), tuple(files), unreadable)
