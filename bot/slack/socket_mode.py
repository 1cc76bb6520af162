"""Socket Mode: one websocket to Slack, kept open by the SDK once connected, retried with
backoff while Slack is unreachable so the process starts (and stays up) without it."""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.slack.settings import SlackSettings

log = logging.getLogger("nginx_triage.slack.serve")

SOCKET_RETRY_MAX_S = 60.0


class SocketModeRunner:
    """Keeps one Socket Mode connection open, retrying with backoff while Slack is unreachable."""

    def __init__(self, app: App, settings: SlackSettings, stop: threading.Event) -> None:
        self._handler = SocketModeHandler(
            app,
            app_token=settings.app_token,
            web_client=app.client,
            logger=logging.getLogger("nginx_triage.slack.socket_mode"),
        )
        self._stop = stop
        self._thread = threading.Thread(target=self._connect_loop, name="nginx-triage-socket", daemon=True)
        self.last_error: str | None = "not connected yet"

    def start(self) -> None:
        """Connect in the background; the HTTP health endpoints do not wait for Slack."""
        self._thread.start()

    def _connect_loop(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._handler.connect()  # type: ignore[no-untyped-call]
                self.last_error = None
                log.info("Socket Mode connected")
                return  # the SDK client reconnects by itself from here on
            except Exception as exc:  # any failure (network, invalid_auth…) is retried, never fatal
                self.last_error = f"cannot open a Socket Mode connection: {type(exc).__name__}"
                log.error(
                    "Socket Mode connection failed; retrying in %.0f s",
                    delay,
                    extra={"method": "apps.connections.open", "error": type(exc).__name__},
                )
                self._stop.wait(delay)
                delay = min(delay * 2, SOCKET_RETRY_MAX_S)

    def why_not_ready(self) -> str | None:
        """None while connected, else why not."""
        if self.last_error is None and not self._handler.client.is_connected():
            return "Socket Mode connection lost; reconnecting"
        return self.last_error

    def close(self) -> None:
        """Close the websocket (no new events arrive after this)."""
        try:
            self._handler.close()  # type: ignore[no-untyped-call]
        except Exception as exc:  # closing a half-open socket must not stop the shutdown
            log.warning("closing Socket Mode failed: %s", type(exc).__name__)
