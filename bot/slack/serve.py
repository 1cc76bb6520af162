"""``nginx-triage serve``: the Slack bot, in Socket Mode (SLACK_APP_TOKEN set) or over HTTP.

Both modes answer GET /healthz, /readyz and /metrics on ``port``. The process starts and
stays up with the database or Slack unreachable; /readyz says what is missing. SIGTERM
(or SIGINT) stops intake, lets queued turns finish (bounded), and returns 0.

This process writes each delivery to the durable inbox and acks (``bot.slack.inbox``); a
background loop renews its leases and runs deliveries other processes acked but never
answered (they died). Turns run in worker processes (``bot.slack.workers``), started here
and supervised for as long as it runs; ``NGINX_TRIAGE_TURNS=threads`` runs them on threads
of this process instead.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.knowledge.loader import KnowledgeBase, KnowledgeBaseError, load_kb
from bot.slack.app import build_app
from bot.slack.bot import TriageBot, create_bot
from bot.slack.health import SlackProbe
from bot.slack.http_server import Readiness, SlackHTTPServer
from bot.slack.logs import configure_logging
from bot.slack.settings import SettingsError, SlackSettings
from bot.slack.workers import ProcessRunner
from bot.store import Store, StoreError

log = logging.getLogger("nginx_triage.slack.serve")

SHUTDOWN_GRACE_S = 20.0
ACK_SWITCH_INTERVAL_S = 0.0005
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


def _load_kb() -> KnowledgeBase | None:
    try:
        return load_kb()
    except KnowledgeBaseError as exc:
        log.error("the knowledge base did not load: %s", exc)
        return None


def serve(port: int, host: str = "0.0.0.0") -> int:  # noqa: C901 (split in the reshape, issue 12)
    """Run the bot until SIGTERM/SIGINT; 0 after a clean stop, 1 when it cannot start at all."""
    try:
        settings = SlackSettings.from_env()
    except SettingsError as exc:
        configure_logging()
        log.error("cannot start: %s", exc)
        return 1
    configure_logging(settings.secrets())
    if settings.turn_mode == "threads":
        # Acks are short I/O-bound bursts competing for the GIL with CPU-bound turns; a shorter
        # switch interval lets an ack thread in sooner, at a small throughput cost.
        sys.setswitchinterval(ACK_SWITCH_INTERVAL_S)
    problems = settings.problems()
    for problem in problems:
        log.error("not ready: %s", problem)
    kb = _load_kb()
    store: Store | None = None
    try:
        store = Store(settings.database_url)
    except StoreError as exc:
        problems.append(f"store: {exc}")
        log.error("not ready: %s", exc)

    stop = threading.Event()
    bot: TriageBot | None = None
    app: App | None = None
    workers: ProcessRunner | None = None
    if kb is not None and store is not None and not problems:
        if settings.turn_mode == "processes":
            workers = ProcessRunner(settings).start()  # they load in the background; /readyz waits for them
        bot = create_bot(settings, store=store, kb=kb, runner=workers)
        app = build_app(bot)
        if bot.inbox is not None:
            bot.inbox.start()  # renews this process's leases, runs what dead processes left behind
    readiness = Readiness(store=store, kb_loaded=kb is not None, problems=problems)
    if workers is not None:
        readiness.extra_checks["workers"] = workers.why_not_ready
    if app is not None:
        readiness.extra_checks["slack"] = SlackProbe(app.client, stop).start().why_not_ready
    socket_runner: SocketModeRunner | None = None
    if settings.socket_mode and app is not None:
        socket_runner = SocketModeRunner(app, settings, stop)
        readiness.extra_checks["socket_mode"] = socket_runner.why_not_ready

    try:
        server = SlackHTTPServer((host, port), None if settings.socket_mode else app, readiness)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        if bot is not None:
            bot.shutdown(0)
        return 1
    server.socket_mode = settings.socket_mode
    _install_signal_handlers(stop)
    server.start()
    if socket_runner is not None:
        socket_runner.start()
    log.info(
        "nginx-triage serving",
        extra={
            "mode": "socket" if settings.socket_mode else "http",
            "host": host,
            "port": server.port,
            "store": store.url if store else None,
            "turns": settings.turn_mode,
            "workers": settings.workers,
        },
    )
    stop.wait()

    log.info("shutting down: no new events, finishing turns in flight")
    if socket_runner is not None:
        socket_runner.close()
    server.stop()
    finished = bot.shutdown(SHUTDOWN_GRACE_S) if bot is not None else True
    if not finished:
        log.warning("some turns were still running after %.0f s and were cut off", SHUTDOWN_GRACE_S)
    if store is not None:
        store.close()
    log.info("stopped")
    return 0


def _install_signal_handlers(stop: threading.Event) -> None:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    try:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    except ValueError:
        log.warning("not in the main thread: SIGTERM/SIGINT handlers not installed")
