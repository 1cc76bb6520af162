"""Where a job's replies go, opened: a ``Target`` (data in the job) bound to a Web API client."""

from __future__ import annotations

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.slack.delivery.jobs import FallbackTarget, ResponseUrlTarget, Target, ThreadTarget
from bot.slack.replies import Destination, FallbackDestination, ResponseUrlDestination, ThreadDestination


def open_target(target: Target, client: WebClient) -> Destination:
    """The destination ``target`` names (a response_url needs no Web API client)."""
    match target:
        case ThreadTarget(channel, thread_ts):
            return ThreadDestination(client, channel, thread_ts)
        case ResponseUrlTarget(url):
            return ResponseUrlDestination(Respond(response_url=url))
        case FallbackTarget(primary, fallback):
            return FallbackDestination(open_target(primary, client), open_target(fallback, client))
