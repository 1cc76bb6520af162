"""Prometheus series for the Slack bot, all prefixed ``nginx_triage_`` (DESIGN.md)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
"""A registry of our own, so only our series (no process collectors of other libraries) appear."""

EVENTS_RECEIVED = Counter(
    "nginx_triage_events_received_total", "Requests from Slack by type (event type, command, action…).",
    ["type"], registry=REGISTRY,
)
EVENTS_DUPLICATE = Counter(
    "nginx_triage_events_duplicate_total", "Events dropped because another delivery was already claimed.",
    registry=REGISTRY,
)
REPLIES_SENT = Counter("nginx_triage_replies_sent_total", "Replies posted to Slack.", registry=REGISTRY)
ACK_SECONDS = Histogram(
    "nginx_triage_ack_seconds", "Time from receiving a Slack request to answering it.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0), registry=REGISTRY,
)
REPLY_SECONDS = Histogram(
    "nginx_triage_reply_seconds", "Time from receiving a Slack request to its last reply posted.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0), registry=REGISTRY,
)
MATCHES = Counter(
    "nginx_triage_matches_total", "Diagnoses posted that include a KB entry, by entry id.", ["kb_id"], registry=REGISTRY,
)
UNMATCHED_LINES = Counter(
    "nginx_triage_unmatched_lines_total", "Pasted log lines no KB entry matched (recorded for KB growth).",
    registry=REGISTRY,
)
SLACK_API_ERRORS = Counter(
    "nginx_triage_slack_api_errors_total", "Slack Web API calls that failed, by method and error code.",
    ["method", "error"], registry=REGISTRY,
)
TURNS_IN_FLIGHT = Gauge("nginx_triage_turns_in_flight", "Turns queued or running in the worker pool.", registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The /metrics body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
