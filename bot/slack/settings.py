"""Settings for the Slack bot, read from the environment (DESIGN.md: `serve`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

DEFAULT_API_URL = "https://slack.com/api/"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Largest HTTP body accepted on /slack/events; Slack's payloads are far smaller."""


def default_workers() -> int:
    """One turn worker per CPU, between 2 and 4."""
    return max(2, min(4, os.cpu_count() or 2))


class SettingsError(ValueError):
    """A setting that cannot be used, with the variable name and what to do."""


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not an integer") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


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
    """Turn worker threads. Turns are CPU-bound under the GIL: more threads than CPUs only
    slow the acks down (bench/bench_slack.py)."""
    listener_threads: int = 16
    http_timeout: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        """Read SLACK_* / DATABASE_URL / NGINX_TRIAGE_* variables."""
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL", "").strip()
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
            listener_threads=_int_env(env, "NGINX_TRIAGE_LISTENER_THREADS", 16),
            http_timeout=_int_env(env, "NGINX_TRIAGE_SLACK_TIMEOUT", 10),
        )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is configured, else HTTP."""
        return bool(self.app_token)

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
