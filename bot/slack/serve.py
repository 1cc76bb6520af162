"""``nginx-triage serve``: the Slack bot, in Socket Mode (SLACK_APP_TOKEN set) or over HTTP.

Both modes answer GET /healthz, /readyz and /metrics on ``port``. The process starts and
stays up with the database or Slack unreachable; /readyz says what is missing. SIGTERM
(or SIGINT) stops intake, lets queued turns finish (bounded), and returns 0.

This process writes each delivery to the durable inbox and acks (``bot.slack.delivery.inbox``);
a background loop renews its leases and runs deliveries other processes acked but never
answered (they died). Turns run in worker processes (``bot.slack.delivery.process_runner``),
started here and supervised for as long as it runs; ``NGINX_TRIAGE_TURNS=threads`` runs them
on threads of this process instead.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType

from slack_bolt import App

from bot.knowledge.loader import KnowledgeBase, KnowledgeBaseError, load_kb
from bot.slack.app import build_app
from bot.slack.delivery.process_runner import ProcessRunner
from bot.slack.health import SlackProbe
from bot.slack.http_server import Readiness, SlackHTTPServer
from bot.slack.logs import configure_logging
from bot.slack.settings import SettingsError, SlackSettings
from bot.slack.socket_mode import SocketModeRunner
from bot.slack.triage_bot import TriageBot, create_bot
from bot.store import RetentionJob, Store, StoreError

log = logging.getLogger("nginx_triage.slack.serve")

SHUTDOWN_GRACE_S = 20.0
ACK_SWITCH_INTERVAL_S = 0.0005
SIGNAL_POLL_S = 1.0


@dataclass
class Serving:
    """What one ``serve`` runs: each part None when it could not be set up (then /readyz says why)."""

    settings: SlackSettings
    stop: threading.Event
    readiness: Readiness
    store: Store | None = None
    bot: TriageBot | None = None
    app: App | None = None
    socket_runner: SocketModeRunner | None = None


def serve(port: int, host: str = "0.0.0.0") -> int:
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
    serving = start_parts(settings, threading.Event())
    try:
        server = SlackHTTPServer(
            (host, port),
            None if settings.socket_mode else serving.app,
            serving.readiness,
            signing_secret=settings.signing_secret,
        )
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        if serving.bot is not None:
            serving.bot.shutdown(0)
        return 1
    server.socket_mode = settings.socket_mode
    _install_signal_handlers(serving.stop)
    server.start()
    if serving.socket_runner is not None:
        serving.socket_runner.start()
    _log_serving(serving, host, server.port)
    # Wake up every second: a SIGTERM the kernel hands to another thread only sets a flag, and
    # Python runs the handler when the main thread next executes; an endless wait would sleep
    # through it (seen once in ~10 runs: serve ignored SIGTERM until SIGKILL).
    while not serving.stop.wait(SIGNAL_POLL_S):
        pass
    shut_down(serving, server)
    return 0


def start_parts(settings: SlackSettings, stop: threading.Event) -> Serving:
    """Load the KB, open the store, start the workers, the inbox and the probes; what failed
    is logged and left for /readyz to report."""
    problems = settings.problems()
    for problem in problems:
        log.error("not ready: %s", problem)
    kb = _load_kb()
    store = _open_store(settings, problems)
    serving = Serving(settings, stop, Readiness(store=store, kb_loaded=kb is not None, problems=problems), store=store)
    if kb is None or store is None or problems:
        return serving
    workers: ProcessRunner | None = None
    if settings.turn_mode == "processes":
        workers = ProcessRunner(settings).start()  # they load in the background; /readyz waits for them
        serving.readiness.extra_checks["workers"] = workers.why_not_ready
    serving.bot = create_bot(settings, store=store, kb=kb, runner=workers)
    serving.app = build_app(serving.bot)
    if serving.bot.inbox is not None:
        serving.bot.inbox.start()  # renews this process's leases, runs what dead processes left behind
    RetentionJob(store, settings.retention_days, stop).start()  # NGINX_TRIAGE_RETENTION_DAYS, hourly
    serving.readiness.extra_checks["slack"] = SlackProbe(serving.app.client, stop).start().why_not_ready
    if settings.socket_mode:
        serving.socket_runner = SocketModeRunner(serving.app, settings, stop)
        serving.readiness.extra_checks["socket_mode"] = serving.socket_runner.why_not_ready
    return serving


def shut_down(serving: Serving, server: SlackHTTPServer) -> None:
    """No new events, then finish the turns in flight (bounded), then close the store."""
    log.info("shutting down: no new events, finishing turns in flight")
    if serving.socket_runner is not None:
        serving.socket_runner.close()
    server.stop()
    finished = serving.bot.shutdown(SHUTDOWN_GRACE_S) if serving.bot is not None else True
    if not finished:
        log.warning("some turns were still running after %.0f s and were cut off", SHUTDOWN_GRACE_S)
    if serving.store is not None:
        serving.store.close()
    log.info("stopped")


def _load_kb() -> KnowledgeBase | None:
    try:
        return load_kb()
    except KnowledgeBaseError as exc:
        log.error("the knowledge base did not load: %s", exc)
        return None


def _open_store(settings: SlackSettings, problems: list[str]) -> Store | None:
    try:
        return Store(settings.database_url)
    except StoreError as exc:
        problems.append(f"store: {exc}")
        log.error("not ready: %s", exc)
        return None


def _log_serving(serving: Serving, host: str, port: int) -> None:
    settings = serving.settings
    log.info(
        "nginx-triage serving",
        extra={
            "mode": "socket" if settings.socket_mode else "http",
            "host": host,
            "port": port,
            "store": serving.store.url if serving.store else None,
            "turns": settings.turn_mode,
            "workers": settings.workers,
        },
    )


def _install_signal_handlers(stop: threading.Event) -> None:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    try:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    except ValueError:
        log.warning("not in the main thread: SIGTERM/SIGINT handlers not installed")
