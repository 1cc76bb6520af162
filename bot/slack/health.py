"""Whether Slack answers, for /readyz: an ``auth.test`` now and then, off the request path.

Readiness must not wait on Slack (a probe has a short timeout) and must not hammer it
(Tier 4 method, but every replica probes): one call every ``interval`` seconds on a
background thread, the verdict cached. A Slack outage makes replicas unready, never dead:
/healthz stays green, so an orchestrator does not crash-loop them.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("nginx_triage.slack.health")

PROBE_INTERVAL_S = 30.0
PROBE_RETRY_S = 2.0


class SlackProbe:
    """Calls ``auth.test`` in the background; ``why_not_ready`` reads the last verdict."""

    def __init__(self, client: WebClient, stop: threading.Event, interval: float = PROBE_INTERVAL_S) -> None:
        self._client = client
        self._stop = stop
        self._interval = interval
        self._last: str | None = "Slack not checked yet"
        self._thread = threading.Thread(target=self._loop, name="nginx-triage-slack-probe", daemon=True)

    def start(self) -> SlackProbe:
        """Begin probing; returns self."""
        self._thread.start()
        return self

    def probe(self) -> str | None:
        """One ``auth.test``: None when Slack answered for our token, else why not."""
        try:
            self._client.auth_test()
            return None
        except SlackApiError as exc:
            return f"Slack answered auth.test with {exc.response.get('error', 'an error')}"
        except Exception as exc:  # network errors of every kind: readiness reports, never raises
            return f"Slack did not answer auth.test ({type(exc).__name__})"

    def _loop(self) -> None:
        while not self._stop.is_set():
            verdict = self.probe()
            if verdict != self._last:
                (log.info if verdict is None else log.warning)("slack readiness: %s", verdict or "Slack answers")
            self._last = verdict
            self._stop.wait(self._interval if verdict is None else PROBE_RETRY_S)

    def why_not_ready(self) -> str | None:
        """The last verdict (None: ready)."""
        return self._last
