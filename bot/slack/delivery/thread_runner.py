"""Runs jobs on threads of the serving process (``NGINX_TRIAGE_TURNS=threads``, and the tests):
same ordering and bounds as the worker processes, but turns share the GIL with the acks."""

from __future__ import annotations

from bot.slack.delivery.dispatcher import BudgetListener, FinishListener
from bot.slack.delivery.job_context import JobContext
from bot.slack.delivery.jobs import Job
from bot.slack.delivery.keyed_pool import KeyedThreadPool
from bot.slack.delivery.run_job import run_job
from bot.slack.metrics import TURNS_IN_FLIGHT


class ThreadRunner:
    """A ``Dispatcher`` on a ``KeyedThreadPool`` of this process, sharing one ``JobContext``."""

    def __init__(self, ctx: JobContext, threads: int, capacity: int) -> None:
        self.ctx = ctx
        self._pool = KeyedThreadPool(threads, capacity)
        self._on_finished: FinishListener | None = None

    def set_finish_listener(self, listener: FinishListener | None) -> None:
        self._on_finished = listener

    def set_budget_listener(self, listener: BudgetListener | None) -> None:
        """Threads of this process have no budget of their own (the engine's turn budget still holds)."""

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
