"""Ordered, bounded thread pools for jobs, and the in-process runner (tests, ``NGINX_TRIAGE_TURNS=threads``).

``KeyedThreadPool`` runs callables on a few threads; callables with the same key (a Slack
thread) run one at a time in submission order. It is used twice: inside every worker
process (``bot.slack.workers``) and, in-process, by ``InProcessRunner``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from bot.slack.jobs import Job, JobContext, run_job
from bot.slack.metrics import TURNS_IN_FLIGHT

log = logging.getLogger("nginx_triage.slack.pool")


class Dispatcher(Protocol):
    """Where listeners hand jobs after the ack: in-process threads or worker processes."""

    def submit(self, job: Job) -> bool:
        """Queue ``job`` without blocking; False when the queue is full (the job is not run)."""
        ...

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        ...

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Finish queued jobs (up to ``timeout``), then stop; False when some were cut off."""
        ...

    def why_not_ready(self) -> str | None:
        """None when jobs can run, else why not (for /readyz)."""
        ...

    def set_finish_listener(self, listener: FinishListener | None) -> None:
        """Call ``listener(job, ran)`` when a job finished (``ran``) or was lost with its worker."""
        ...


FinishListener = Callable[[Job, bool], None]


class KeyedThreadPool:
    """A thread pool where jobs with one key run serially, in order; optionally bounded."""

    def __init__(self, threads: int, capacity: int | None = None, name: str = "nginx-triage-turn") -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._capacity = capacity
        self._queues: dict[str, deque[Callable[[], object]]] = {}
        self._queues_lock = threading.Lock()
        self._pending = 0
        self._pending_lock = threading.Condition()

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._pending_lock:
            return self._pending

    def submit(self, job: Callable[[], object], key: str | None = None) -> bool:
        """Queue ``job``; False (and nothing queued) when ``capacity`` jobs are already pending."""
        with self._pending_lock:
            if self._capacity is not None and self._pending >= self._capacity:
                return False
            self._pending += 1
        if key is None:
            self._pool.submit(self._run_one, job)
            return True
        with self._queues_lock:
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(job)
                return True
            self._queues[key] = deque([job])
        self._pool.submit(self._drain, key)
        return True

    def _run_one(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:
            log.exception("a job failed")
        finally:
            with self._pending_lock:
                self._pending -= 1
                self._pending_lock.notify_all()

    def _drain(self, key: str) -> None:
        """Run the jobs queued for one key until none is left."""
        while True:
            with self._queues_lock:
                job = self._queues[key][0]
            self._run_one(job)
            with self._queues_lock:
                queue = self._queues[key]
                queue.popleft()
                if not queue:
                    del self._queues[key]
                    return

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._pending_lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._pending_lock.wait(left)
        return True

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Finish queued jobs (up to ``timeout``), then stop the threads."""
        idle = self.wait_idle(timeout)
        self._pool.shutdown(wait=idle, cancel_futures=True)
        return idle


class InProcessRunner:
    """Runs jobs on threads of this process: same ordering and bounds as the worker processes,
    but turns share the GIL with the acks. For tests and for ``NGINX_TRIAGE_TURNS=threads``."""

    def __init__(self, ctx: JobContext, threads: int, capacity: int) -> None:
        self.ctx = ctx
        self._pool = KeyedThreadPool(threads, capacity)
        self._on_finished: FinishListener | None = None

    def set_finish_listener(self, listener: FinishListener | None) -> None:
        self._on_finished = listener

    def submit(self, job: Job) -> bool:
        def run() -> None:
            try:
                run_job(self.ctx, job)
            finally:
                TURNS_IN_FLIGHT.dec()
                if self._on_finished is not None:
                    self._on_finished(job, True)

        TURNS_IN_FLIGHT.inc()
        if self._pool.submit(run, job.key):
            return True
        TURNS_IN_FLIGHT.dec()
        return False

    def wait_idle(self, timeout: float) -> bool:
        return self._pool.wait_idle(timeout)

    def shutdown(self, timeout: float = 20.0) -> bool:
        return self._pool.shutdown(timeout)

    def why_not_ready(self) -> str | None:
        return None
