"""The line shapes of the host outputs, apart from their parsers.

Sniffing a paste (``bot.evidence.sections.host_shapes``) asks of every line whether it is
a ``df`` header, a ``namei -l`` row, a certificate date, an access-log line or a
``systemctl status`` line; only a paste that holds one needs the parser and its models.
So the patterns live here, and the parsers take theirs from here.
"""

from __future__ import annotations

from bot.lazy_re import lazy_compile

ACCESS_LINE = lazy_compile(
    r"^(?P<addr>\S{1,256}) \S{1,256} \S{1,256} \[(?P<time>[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r" [+-][0-9]{4})\] \"(?P<request>[^\"]{0,8192})\" (?P<status>[0-9]{3}) (?P<bytes>[0-9]{1,19}|-)"
    r"(?: \"[^\"]{0,8192}\" \"[^\"]{0,8192}\")?(?P<rest>.{0,4096})$"
)
"""A request line; ``rest`` holds whatever the log format appends after the user agent."""

X509_SUBJECT = lazy_compile(r"^subject=\s?(?P<v>.{0,2048})$")

X509_DATE = lazy_compile(
    r"^(?P<k>notBefore|notAfter)=(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<d>[0-9]{1,2}) (?P<t>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.[0-9]{1,6})? (?P<y>[0-9]{4})(?: GMT)?$"
)

LS_ROW = lazy_compile(
    r"^(?P<mode>[-dlcbps][-rwxsStT]{9})[.+@]?\s+[0-9]{1,9}\s+(?P<owner>\S{1,64})\s+(?P<group>\S{1,64})\s+"
    r"[0-9]{1,20}\s+(?:[A-Z][a-z]{2}\s+[0-9]{1,2}\s+(?:[0-9]{1,2}:[0-9]{2}|[0-9]{4})|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:\s[0-9:.]{5,18})?(?:\s[+-][0-9]{4})?)\s+(?P<path>\S.{0,4095})$"
)

LS_MISSING = lazy_compile(r"^ls: cannot access '?(?P<path>[^']{1,4096}?)'?: No such file or directory$")

X509_UNLOADABLE = lazy_compile(
    r"^(?:Could not open file or uri for loading certificate from (?P<path>\S.{0,4095})|[Uu]nable to load certificate)$"
)

DF_BLOCKS_HEADER = lazy_compile(
    r"^Filesystem\s+(?:Size|[0-9]{1,4}[KMG]?-blocks)\s+Used\s+Avail(?:able)?\s+(?:Use%|Capacity)"
)

DF_INODES_HEADER = lazy_compile(r"^Filesystem\s+Inodes\s+IUsed\s+IFree\s+IUse%")

_AMOUNT = r"(?:[0-9]{1,20}(?:[.,][0-9]{1,3})?[KMGTPE]?i?|-)"
DF_ROW = lazy_compile(
    r"^(?:(?P<source>\S{1,4096})\s+)?(?P<a>" + _AMOUNT + r")\s+(?P<b>" + _AMOUNT + r")\s+(?P<c>" + _AMOUNT + r")"
    r"\s+(?P<pct>[0-9]{1,3}%|-)\s+(?P<mount>/.{0,4096})$"
)
"""A data row of either table (used by the sniffer to keep rows after a header together)."""

NAMEI_ROW = lazy_compile(
    r"^(?P<mode>[-dlcbps][-rwxsStT]{9})[.+@]?\s+(?P<owner>\S{1,64})\s+(?P<group>\S{1,64})\s+(?P<name>\S.{0,4095})$"
)

NAMEI_MISSING = lazy_compile(
    r"^(?P<name>\S.{0,4095}?) - (?:No such file or directory|Permission denied|Not a directory)$"
)

NAMEI_USER = lazy_compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")

SYSTEMD_UNIT = lazy_compile(r"^[●○×*↻] (?P<unit>[A-Za-z0-9@_.:-]{1,256}\.service)(?: - .{0,512})?$")

SYSTEMD_LOADED = lazy_compile(r"^Loaded: (?:loaded|not-found|masked|error|bad-setting) \(")

SYSTEMD_ACTIVE = lazy_compile(
    r"^Active: (?P<state>active|inactive|failed|activating|deactivating|reloading|maintenance)\b"
)

CGROUP_LINE = lazy_compile(r"^[0-9]{1,4}:[A-Za-z0-9_,=]{0,256}:(?P<path>/\S{0,4096})$")
