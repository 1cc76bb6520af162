"""Sizing constants and rules, as data.

Two kinds of numbers live here. Facts from the nginx source (the compiled default, the
cache manager's hard-coded 512, the channel slot, what the startup check compares) never
change with taste. Judgements (headroom, the busiest worker's share, rounding, the 2x
descriptor advice) are policy: they sit in ``SizingRules`` so a test or a caller can
state a different policy instead of editing arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- facts from the nginx source (NGINX-FACTS sections 3.1-3.4) ---------------------------

COMPILED_DEFAULT_WORKER_CONNECTIONS = 512
"""``DEFAULT_CONNECTIONS`` in src/event/ngx_event.c: what a worker gets when events{} says nothing."""

CACHE_MANAGER_CONNECTIONS = 512
"""Cache manager and loader hard-code ``connection_n = 512``; worker_connections never reaches them."""

CHANNEL_SLOTS = 1
"""Every worker spends one slot on its channel to the master (measured: the "- 1")."""

DEFAULT_WORKER_PROCESSES = 1
"""nginx's default when ``worker_processes`` is absent (callers pass it; kept here for them)."""

DEFAULT_LISTENERS = 1
"""Assumed when the config is unknown: every server needs at least one listening socket."""


@dataclass(frozen=True, slots=True)
class SizingRules:
    """Policy for turning a demand into directive values. Each field says where it came from."""

    headroom_factor: float = 1.25
    """Slots above the busiest worker's expected peak: a slot costs a few hundred bytes,
    a failed request costs a user (NGINX-FACTS 8)."""

    busiest_to_average: float = 1.6
    """Busiest worker's load over the average. Measured with two workers: one took about
    four fifths of the overflow, i.e. 0.8 = 1.6 x 1/2 (NGINX-FACTS 8)."""

    min_busiest_share: float = 0.25
    """Floor for the busiest worker's share with many workers. The measurement covers two
    workers only and the kernel does not balance accepts across many either, so the
    share is not allowed to shrink towards 1.6/N without limit."""

    round_step: int = 1024
    """Above this, values round up to a multiple of it; at or below, to a power of two."""

    min_raised_worker_connections: int = 1024
    """When worker_connections has to go up, it goes at least this far: the value the
    sample nginx.conf ships, and a few hundred KiB per worker."""

    fd_overhead_per_worker: int = 16
    """Descriptors a worker holds that are not connection sockets: stdio, logs, epoll,
    eventfd, files being sent. An idle worker with one listener held 9 (NGINX-FACTS 8)."""

    rlimit_advice_factor: float = 2.0
    """worker_rlimit_nofile per worker_connections. nginx only checks 1x (ngx_event.c);
    2x is the NGINX blog's advice so static, temp and cache files fit beside the sockets."""

    observed_target_factor: float = 1.5
    """An ``ss`` count is a snapshot, not the peak: aim this far above it."""

    alert_target_factor: float = 2.0
    """After ``N worker_connections are not enough`` the demand above the ceiling is
    unknown (the log understates failures): aim for this multiple of the ceiling."""

    def busiest_share(self, workers: int | None) -> float:
        """Fraction of all concurrent requests the busiest worker must carry."""
        if workers is None or workers <= 1:
            return 1.0
        return min(1.0, max(self.busiest_to_average / workers, self.min_busiest_share, 1.0 / workers))

    def round_up(self, n: int) -> int:
        """Round a slot or descriptor count up to a value people recognise and never below ``n``."""
        if n <= 1:
            return 1
        if n <= self.round_step:
            return 1 << (n - 1).bit_length()
        return -(-n // self.round_step) * self.round_step  # integers: n / step overflowed a float


DEFAULT_RULES = SizingRules()


def round_up_slots(n: int, rules: SizingRules = DEFAULT_RULES) -> int:
    """Next power of two up to ``rules.round_step``, next multiple of it above."""
    return rules.round_up(n)


def slots_per_request(proxied: bool, http3: bool) -> int:
    """Slots one in-flight request holds in the worst case.

    Client side: one connection slot (HTTP/1.x; HTTP/2 streams share it, so this is the
    worst case), or with HTTP/3 one slot for the QUIC stream plus one for its connection.
    Proxied requests add the upstream connection.
    """
    client = 2 if http3 else 1
    return client + (1 if proxied else 0)
