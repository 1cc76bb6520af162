"""A bounded thread pool that keeps order per key: jobs with one key (a Slack thread) run one
at a time, in submission order; others run side by side.

Used twice: inside every worker process (``bot.slack.delivery.worker_process``) and, in the
serving process, by ``ThreadRunner``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("nginx_triage.slack.pool")


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
