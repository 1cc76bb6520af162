"""What the host parsers return: plain frozen data, with the small questions the checks ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Filesystem:
    """One mount as ``df -h`` and ``df -i`` print it (either table may be missing)."""

    source: str
    mount: str
    size: str | None = None
    used: str | None = None
    avail: str | None = None
    use_percent: int | None = None
    inodes: str | None = None
    iused: str | None = None
    ifree: str | None = None
    iuse_percent: int | None = None

    @property
    def blocks_full(self) -> bool:
        """Whether no block is left (``Use%`` 100, or ``Avail`` 0)."""
        return (self.use_percent is not None and self.use_percent >= 100) or self.avail in ("0", "0B", "0K")

    @property
    def inodes_full(self) -> bool:
        """Whether no inode is left (``IUse%`` 100, or ``IFree`` 0)."""
        return (self.iuse_percent is not None and self.iuse_percent >= 100) or self.ifree == "0"


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """``df -h; df -i``: every mount, both tables merged by mount point."""

    filesystems: tuple[Filesystem, ...]

    def mount_of(self, path: str) -> Filesystem | None:
        """The mount holding an absolute path: the longest mount point that is a prefix of it."""
        best: Filesystem | None = None
        for fs in self.filesystems:
            mount = fs.mount.rstrip("/") or "/"
            inside = path == mount or path.startswith(mount + "/") or mount == "/"
            if inside and path.startswith("/") and (best is None or len(mount) > len(best.mount.rstrip("/") or "/")):
                best = fs
        return best


@dataclass(frozen=True, slots=True)
class PathComponent:
    """One line of ``namei -l``: the mode string, owner, group and name of a path component."""

    mode: str
    owner: str
    group: str
    name: str
    target: str | None = None
    """Where a symlink points (``live.crt -> /etc/ssl/x.crt``)."""
    missing: bool = False
    """``nope - No such file or directory``: the component does not exist."""

    @property
    def is_dir(self) -> bool:
        """Whether the component is a directory."""
        return self.mode.startswith("d")


@dataclass(frozen=True, slots=True)
class PathPermissions:
    """``namei -l PATH`` (every component, symlinks followed) and the users nginx runs as."""

    path: str | None
    components: tuple[PathComponent, ...]
    users: tuple[str, ...] = ()
    """``ps -o user= -C nginx | sort -u``: the master's user and the workers'."""

    @property
    def worker_users(self) -> tuple[str, ...]:
        """The users the workers run as: the non-root ones when root (the master) is among others."""
        others = tuple(u for u in self.users if u != "root")
        return others or self.users


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One line of ``ls -l``: mode, owner, group and path; ``missing`` when ``ls`` could not find it."""

    path: str
    mode: str | None = None
    owner: str | None = None
    group: str | None = None
    missing: bool = False


@dataclass(frozen=True, slots=True)
class Certificate:
    """``openssl x509 -noout -subject -dates`` and ``ls -l`` of the certificate and key."""

    subject: str | None
    not_before: datetime | None
    not_after: datetime | None
    files: tuple[FileEntry, ...] = ()
    unreadable: str | None = None
    """The file openssl could not load (``Could not open file ... from PATH``)."""

    def expired(self, now: datetime) -> bool:
        """Whether the certificate is past its ``notAfter``."""
        return self.not_after is not None and self.not_after < now

    def days_left(self, now: datetime) -> int | None:
        """Whole days until ``notAfter`` (negative once expired)."""
        return None if self.not_after is None else (self.not_after - now).days

    @property
    def common_name(self) -> str | None:
        """The ``CN`` of the subject, when it has one."""
        for part in (self.subject or "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "CN":
                return value.strip()
        return None


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One access-log request: method, path, status and the times appended to the combined format."""

    method: str
    path: str
    status: int
    bytes_sent: int | None
    request_time: float | None = None
    upstream_time: float | None = None


@dataclass(frozen=True, slots=True)
class AccessLog:
    """The requests read from access-log lines (combined format, extra fields tolerated)."""

    entries: tuple[AccessEntry, ...]
    skipped: int = 0
    """Lines that were not requests in a format read here."""

    def status_counts(self) -> dict[int, int]:
        """Requests per status, most frequent first."""
        counts: dict[int, int] = {}
        for e in self.entries:
            counts[e.status] = counts.get(e.status, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def failed(self) -> list[AccessEntry]:
        """Requests answered 4xx or 5xx (499 included: the client gave up)."""
        return [e for e in self.entries if e.status >= 400]


@dataclass(frozen=True, slots=True)
class RunEnvironment:
    """How nginx is run, from ``systemctl status nginx`` and ``/proc/1/cgroup``.

    ``kind`` is ``systemd``, ``container`` (Docker, Podman, LXC), ``kubernetes`` or ``unknown`` (a bare ``0::/`` is a
    private cgroup namespace or a host without systemd: it does not tell).
    """

    kind: str
    unit: str | None = None
    active: str | None = None
    """``active``, ``inactive``, ``failed`` ... from the ``Active:`` line."""
    cgroup: str | None = None
    """PID 1's cgroup path as printed (``/init.scope``, ``/kubepods/...``)."""
