"""What the backend and host parsers return: plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ListeningSocket:
    """One LISTEN row of ``ss -l``: a TCP address or a unix socket path, its queue and owner.

    For a listening socket ``recv_q`` is the connections waiting to be accepted now and
    ``send_q`` the backlog; ``recv_q >= send_q`` means the queue is full.
    """

    kind: str
    """``tcp`` or ``unix``."""
    local: str
    """``127.0.0.1:8080``, ``[::1]:8080``, ``*:80`` or ``/run/php/php8.2-fpm.sock``."""
    recv_q: int
    send_q: int
    processes: tuple[str, ...] = ()
    """Program names from ``users:(("nginx",pid=1,fd=6),...)`` (``-p``), in order, each once."""

    @property
    def queue_full(self) -> bool:
        """Whether the accept queue is at its backlog."""
        return self.send_q > 0 and self.recv_q >= self.send_q

    @property
    def host(self) -> str:
        """The address part of a TCP socket (``[::1]`` style for IPv6); the path for unix."""
        return self.local.rpartition(":")[0] if self.kind == "tcp" else self.local

    @property
    def port(self) -> int | None:
        """The port of a TCP socket."""
        tail = self.local.rpartition(":")[2]
        return int(tail) if self.kind == "tcp" and tail.isascii() and tail.isdigit() and len(tail) <= 5 else None


@dataclass(frozen=True, slots=True)
class FpmSetting:
    """One php-fpm pool setting, with where it is written when the paste says so."""

    pool: str | None
    key: str
    value: str
    file: str | None = None
    line: int | None = None
    text: str | None = None
    """The whole line as ``grep -Hn`` printed it after ``FILE:LINE:`` (what a diff replaces)."""


@dataclass(frozen=True, slots=True)
class FpmPools:
    """The pool settings of php-fpm (``grep ... pool.d/*.conf`` or ``php-fpm -tt``)."""

    settings: tuple[FpmSetting, ...]
    source: str
    """``grep`` (from the pool files) or ``tt`` (php-fpm's own dump of what it loaded)."""

    def get(self, key: str, pool: str | None = None) -> FpmSetting | None:
        """The first setting ``key`` (of ``pool`` when given)."""
        for s in self.settings:
            if s.key == key and (pool is None or s.pool == pool):
                return s
        return None

    def pools(self) -> list[str]:
        """Pool names in order (``www``), or the pool files when the names are not shown."""
        out: list[str] = []
        for s in self.settings:
            name = s.pool or s.file
            if name and name not in out:
                out.append(name)
        return out


@dataclass(frozen=True, slots=True)
class FpmProcess:
    """One php-fpm process from ``ps``: the master or a child of a pool."""

    pid: int
    ppid: int | None
    user: str | None
    role: str
    """``master`` or ``pool``."""
    pool: str | None
    rss_kb: int | None = None


@dataclass(frozen=True, slots=True)
class Memory:
    """``free -m`` in MiB; ``available`` is what new processes can get without swapping."""

    total_mb: int
    used_mb: int
    free_mb: int
    available_mb: int | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What ``getent hosts NAME`` / ``getent ahosts NAME`` printed: the addresses, in order."""

    name: str | None
    addresses: tuple[str, ...]

    @property
    def families(self) -> set[str]:
        """``4`` and/or ``6``."""
        return {"6" if ":" in a else "4" for a in self.addresses}


@dataclass(frozen=True, slots=True)
class NginxBuild:
    """``nginx -V``: version, modules compiled in, and the default paths."""

    version: str | None
    modules: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)
    """``conf-path``, ``error-log-path``, ``pid-path`` ... as configured at build time."""


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    """CPU time and share of one process from ``ps`` with TIME / %CPU columns."""

    pid: int
    role: str
    """nginx's role (``worker``, ``master`` ...) read from the title, ``other`` otherwise."""
    cpu_seconds: int | None
    cpu_percent: float | None
    rss_kb: int | None = None
