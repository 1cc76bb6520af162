"""Settings for the Slack bot, read from the environment (DESIGN.md: `serve`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from bot.store.retention import DEFAULT_RETENTION_DAYS, RETENTION_ENV, parse_retention_days

DEFAULT_API_URL = "https://slack.com/api/"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Largest HTTP body accepted on /slack/events; Slack's payloads are far smaller."""


INBOX_MODES = ("auto", "on", "off")
"""Durable inbox (``bot.slack.delivery.inbox``): ``auto`` (the default) and ``on`` write every
delivery to the inbox before the ack, with SQLite as with PostgreSQL: an acked delivery
survives kill -9 of the process that acked it (SQLite in WAL mode: a committed transaction is
in the log file before the ack, whatever happens to the process). ``off`` is at-most-once
(claimed on receipt, lost if the process dies before answering): only for benchmarks."""

TURN_MODES = ("processes", "threads")
"""Where turns run: worker processes (``serve``'s default) or threads of the acking process."""


def default_workers() -> int:
    """One turn worker per CPU, between 2 and 4."""
    return max(2, min(4, os.cpu_count() or 2))


class SettingsError(ValueError):
    """A setting that cannot be used, with the variable name and what to do."""


def _int_env(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if not value > 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _choice_env(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


def _nice_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 19:
        raise SettingsError(f"{name}={raw!r} is not a niceness between 0 and 19")
    return int(raw)


@dataclass(frozen=True)
class SlackSettings:
    """Everything the bot needs from its environment. Secrets are excluded from ``repr``."""

    bot_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    api_url_set: bool = False
    database_url: str | None = field(default=None, repr=False)
    max_file_bytes: int = MAX_FILE_BYTES
    """Cap on one download and on what one turn hands the engine (text plus files)."""
    workers: int = field(default_factory=lambda: default_workers())
    """Turn workers: processes with ``turn_mode="processes"``, else threads. Turns are
    CPU-bound; more workers than CPUs only add contention (bench/bench_slack.py)."""
    turn_mode: str = "processes"
    """``processes``: turns run in ``workers`` spawned worker processes, so they never hold the
    GIL of the process that acks Slack. ``threads``: in this process (tests, tiny installs)."""
    worker_threads: int = 4
    """Threads per worker process: a turn waiting on Slack (a 429, a download) does not hold up
    the other threads routed to that worker. CPU work inside one worker still takes turns."""
    queue_size: int = 100
    """Turns queued or running per worker before new ones are refused (back-pressure)."""
    worker_nice: int = 5
    """Niceness added to worker processes, so the acking process wins the CPU under load."""
    listener_threads: int = 16
    http_timeout: int = 10
    inbox_lease_s: float = 30.0
    """How long a serving process's claim on an acked delivery holds without a heartbeat
    (``bot.slack.delivery.inbox``): when a replica dies, its unanswered deliveries are taken over
    by the others this long after its last heartbeat."""
    inbox_poll_s: float = 5.0
    """How often each serving process renews its leases and looks for orphaned deliveries."""
    worker_memory_mb: int = 1024
    """A turn worker whose resident memory passes this while it runs turns is replaced (its turns
    are answered with a note, not retried: the same paste would only do it again); 0: no limit."""
    turn_hard_s: float = 120.0
    """A turn still running after this is stopped by replacing its worker process (the engine's
    own budget answers far earlier, ``bot.conversation.budget``; this catches what it cannot)."""
    working_note_s: float = 20.0
    """A delivery waiting this long in the inbox for a free worker (a burst) gets one short
    "working on it" note; shorter waits get nothing but the answer."""
    inbox_mode: str = "auto"
    """See ``INBOX_MODES``."""
    retention_days: int = DEFAULT_RETENTION_DAYS
    """Stored conversations, feedback and unmatched lines older than this are purged (``bot.store.retention``)."""

    def inbox_enabled(self, backend: str | None) -> bool:
        """Whether deliveries go through the durable inbox with this store backend."""
        if backend not in (None, "sqlite", "postgresql"):
            return False
        return self.inbox_mode != "off"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        """Read SLACK_* / DATABASE_URL / NGINX_TRIAGE_* variables."""
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL", "").strip()
        try:
            retention = parse_retention_days(env.get(RETENTION_ENV))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if api_url:
            parsed = urlparse(api_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise SettingsError(f"SLACK_API_URL={api_url!r} is not an http(s) URL")
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            api_url=(api_url.rstrip("/") + "/") if api_url else DEFAULT_API_URL,
            api_url_set=bool(api_url),
            database_url=env.get("DATABASE_URL", "").strip() or None,
            max_file_bytes=_int_env(env, "NGINX_TRIAGE_MAX_FILE_BYTES", MAX_FILE_BYTES),
            workers=_int_env(env, "NGINX_TRIAGE_WORKERS", default_workers()),
            turn_mode=_choice_env(env, "NGINX_TRIAGE_TURNS", TURN_MODES),
            worker_threads=_int_env(env, "NGINX_TRIAGE_WORKER_THREADS", 4),
            queue_size=_int_env(env, "NGINX_TRIAGE_QUEUE_SIZE", 100),
            worker_nice=_nice_env(env, "NGINX_TRIAGE_WORKER_NICE", 5),
            listener_threads=_int_env(env, "NGINX_TRIAGE_LISTENER_THREADS", 16),
            http_timeout=_int_env(env, "NGINX_TRIAGE_SLACK_TIMEOUT", 10),
            inbox_lease_s=_float_env(env, "NGINX_TRIAGE_INBOX_LEASE_S", 30.0),
            inbox_poll_s=_float_env(env, "NGINX_TRIAGE_INBOX_POLL_S", 5.0),
            inbox_mode=_choice_env(env, "NGINX_TRIAGE_INBOX", INBOX_MODES),
            working_note_s=_float_env(env, "NGINX_TRIAGE_WORKING_NOTE_S", 20.0),
            worker_memory_mb=_int_env(env, "NGINX_TRIAGE_WORKER_MEMORY_MB", 1024, minimum=0),
            turn_hard_s=_float_env(env, "NGINX_TRIAGE_TURN_HARD_S", 120.0),
            retention_days=retention,
        )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is configured, else HTTP."""
        return bool(self.app_token)

    def response_url_allowed(self, url: str) -> bool:
        """Whether a ``response_url`` from a payload may be posted to: https on Slack's hosts
        (``hooks.slack.com``, ``*.slack.com``), or SLACK_API_URL's host:port when it is set (tests).
        A forged or tampered payload must not turn the bot into a client of any other host."""
        parsed = urlparse(url)
        try:
            port = parsed.port
        except ValueError:
            return False
        if self.api_url_set and parsed.netloc.lower() == urlparse(self.api_url).netloc.lower():
            return parsed.scheme in ("http", "https")
        host = (parsed.hostname or "").lower()
        return parsed.scheme == "https" and port in (None, 443) and (host == "slack.com" or host.endswith(".slack.com"))

    def secrets(self) -> tuple[str, ...]:
        """Configured secret values, for scrubbing logs."""
        return tuple(s for s in (self.bot_token, self.signing_secret, self.app_token) if s)

    def problems(self) -> list[str]:
        """What is missing for the configured mode, in words."""
        out: list[str] = []
        if not self.bot_token:
            out.append("SLACK_BOT_TOKEN is not set (xoxb-… bot token)")
        if not self.socket_mode and not self.signing_secret:
            out.append("SLACK_SIGNING_SECRET is not set (needed to verify HTTP requests from Slack)")
        return out
