"""Prometheus series for the Slack bot, all prefixed ``nginx_triage_`` (DESIGN.md).

Turns run in worker processes (``bot.slack.delivery.process_runner``) while ``/metrics`` is served by the
process that acks Slack. The counters and histograms below are therefore proxies: in the
acking process they count directly; in a worker (after ``record_for_parent()``) they append
each increment or observation to a buffer, which the worker ships to the parent with every
finished job and the parent replays with ``apply_ops``. The parent's totals survive worker
restarts; only the operations of a job in flight when its worker died are lost.
"""

from __future__ import annotations

import threading
from typing import Self

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
"""A registry of our own, so only our series (no process collectors of other libraries) appear."""

Labels = tuple[tuple[str, str], ...]
MetricOp = tuple[str, Labels, float]
"""(series name, label pairs, increment for a counter or observation for a histogram)."""

_BY_NAME: dict[str, Counter | Histogram] = {}
_buffer: list[MetricOp] | None = None
_buffer_lock = threading.Lock()


def record_for_parent() -> None:
    """From now on, buffer every count in this process instead of exposing it (worker processes)."""
    global _buffer
    with _buffer_lock:
        _buffer = []


def drain() -> list[MetricOp]:
    """The operations buffered since the last call (empty in the acking process)."""
    global _buffer
    with _buffer_lock:
        if not _buffer:
            return []
        ops, _buffer = _buffer, []
    return ops


def apply_ops(ops: list[MetricOp]) -> None:
    """Replay a worker's operations on this process's series; unknown names are ignored."""
    for name, labels, value in ops:
        metric = _BY_NAME.get(name)
        if metric is None:
            continue
        _apply(metric, labels, value)


def _apply(metric: Counter | Histogram, labels: Labels, value: float) -> None:
    if isinstance(metric, Counter):
        (metric.labels(**dict(labels)) if labels else metric).inc(value)
    else:
        (metric.labels(**dict(labels)) if labels else metric).observe(value)


class _Proxy:
    """A series (or one labelled child) that counts here or buffers for the parent."""

    def __init__(self, name: str, metric: Counter | Histogram, labels: Labels = ()) -> None:
        self._name = name
        self._metric = metric
        self._labels = labels
        _BY_NAME.setdefault(name, metric)

    def labels(self, **labels: str) -> Self:
        """The child with these label values."""
        return type(self)(self._name, self._metric, tuple(sorted(labels.items())))

    def _record(self, value: float) -> None:
        with _buffer_lock:
            if _buffer is not None:
                _buffer.append((self._name, self._labels, value))
                return
        _apply(self._metric, self._labels, value)


class CounterProxy(_Proxy):
    """``Counter``-like: ``inc``."""

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount``."""
        self._record(amount)


class HistogramProxy(_Proxy):
    """``Histogram``-like: ``observe``."""

    def observe(self, value: float) -> None:
        """Record one observation."""
        self._record(value)


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> CounterProxy:
    return CounterProxy(name, Counter(name, doc, list(labels), registry=REGISTRY))


def _histogram(name: str, doc: str, buckets: tuple[float, ...]) -> HistogramProxy:
    return HistogramProxy(name, Histogram(name, doc, buckets=buckets, registry=REGISTRY))


EVENTS_RECEIVED = _counter(
    "nginx_triage_events_received_total",
    "Requests from Slack by type (event type, command, action…).",
    ("type",),
)
EVENTS_DUPLICATE = _counter(
    "nginx_triage_events_duplicate_total",
    "Events dropped because another delivery was already claimed.",
)
REPLIES_SENT = _counter("nginx_triage_replies_sent_total", "Replies posted to Slack.")
ACK_SECONDS = _histogram(
    "nginx_triage_ack_seconds",
    "Time from receiving a Slack request to answering it.",
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0),
)
REPLY_SECONDS = _histogram(
    "nginx_triage_reply_seconds",
    "Time from receiving a Slack request to its last reply posted.",
    (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
MATCHES = _counter(
    "nginx_triage_matches_total",
    "Diagnoses posted that include a KB entry, by entry id.",
    ("kb_id",),
)
UNMATCHED_LINES = _counter(
    "nginx_triage_unmatched_lines_total",
    "Pasted log lines no KB entry matched (recorded for KB growth).",
)
SLACK_API_ERRORS = _counter(
    "nginx_triage_slack_api_errors_total",
    "Slack Web API calls that failed, by method and error code.",
    ("method", "error"),
)
TURNS_REJECTED = _counter(
    "nginx_triage_turns_rejected_total",
    "Turns not run because the turn queue was full (the user is told to resend when the bot can say so).",
    ("reason",),
)
TURNS_LOST = _counter(
    "nginx_triage_turns_lost_total",
    "Turns that were running in a worker process when it died (each is logged).",
)
WORKERS_REPLACED = _counter(
    "nginx_triage_workers_replaced_total",
    "Turn worker processes replaced because a turn went over its memory or time budget.",
    ("budget",),
)
WORKER_RESTARTS = _counter(
    "nginx_triage_worker_restarts_total",
    "Turn worker processes restarted after they died.",
)
INBOX_WRITE_FAILURES = _counter(
    "nginx_triage_inbox_write_failures_total",
    "Deliveries acked without a durable inbox record (database down): run in memory only, lost if this process dies.",
)
INBOX_WRITE_SECONDS = _histogram(
    "nginx_triage_inbox_write_seconds",
    "Time to record one delivery in the inbox, in the ack path.",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
INBOX_RECOVERED = _counter(
    "nginx_triage_inbox_recovered_total",
    "Inbox items leased by the recovery loop (their process died, or their run failed and is retried).",
)
INBOX_GIVEN_UP = _counter(
    "nginx_triage_inbox_given_up_total",
    "Inbox items given up after too many failed attempts (each is logged).",
)
TURNS_IN_FLIGHT = Gauge(
    "nginx_triage_turns_in_flight", "Turns queued or running in the worker pool.", registry=REGISTRY
)
WORKERS_READY = Gauge("nginx_triage_workers_ready", "Turn worker processes up and taking turns.", registry=REGISTRY)
INBOX_PENDING = Gauge(
    "nginx_triage_inbox_pending", "Open inbox items (acked, not yet answered), all replicas.", registry=REGISTRY
)
INBOX_DEFERRED = Gauge(
    "nginx_triage_inbox_deferred",
    "Deliveries in the inbox waiting for a free worker (the turn queue was full when they came), this process.",
    registry=REGISTRY,
)
TURNS_DEFERRED = _counter(
    "nginx_triage_turns_deferred_total",
    "Turns that found the turn queue full and waited in the durable inbox instead of being refused.",
)
STRUCTURE_ITEMS = Gauge(
    "nginx_triage_structure_items",
    "Items held by a long-lived structure of the serving process (connections, inbox items held or deferred).",
    ["structure"],
    registry=REGISTRY,
)
STRUCTURE_BOUND = Gauge(
    "nginx_triage_structure_bound",
    "The most items that structure may hold (what keeps the process's memory flat).",
    ["structure"],
    registry=REGISTRY,
)
REQUESTS_REJECTED = _counter(
    "nginx_triage_http_rejected_total",
    "HTTP requests refused at the front door (bad signature, malformed or oversized), by status.",
    ("status",),
)
HTTP_CONNECTIONS = Gauge("nginx_triage_http_connections", "Open HTTP connections to the front door.", registry=REGISTRY)
HTTP_CONNECTION_CAP = Gauge(
    "nginx_triage_http_connection_cap",
    "Most HTTP connections held at once (derived from the descriptor limit); past it the oldest idle one goes.",
    registry=REGISTRY,
)
HTTP_EVICTED = _counter(
    "nginx_triage_http_connections_evicted_total",
    "Idle or slow HTTP connections closed to make room for a new one (the connection cap was reached).",
)
HTTP_TIMEOUTS = _counter(
    "nginx_triage_http_timeouts_total",
    "HTTP connections closed because a request head or body did not arrive in time.",
)


def exposition() -> tuple[bytes, str]:
    """The /metrics body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
