"""Where the serving process hands jobs after the ack: the contract of the two runners,
``ThreadRunner`` (threads of this process) and ``ProcessRunner`` (worker processes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.slack.delivery.jobs import Job

FinishListener = Callable[[Job, bool], None]
"""Told when a job finished (``ran`` True) or was lost with its worker process (False)."""
BudgetListener = Callable[[Job, str, str], None]
"""Told when a running job was stopped by a budget: (job, ``memory`` or ``time``, what happened)."""


class Dispatcher(Protocol):
    """Where ``TriageBot.submit`` hands jobs after the ack: threads or worker processes."""

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

    def set_budget_listener(self, listener: BudgetListener | None) -> None:
        """Call ``listener(job, budget, what)`` when a budget stopped a running job (then it is done)."""
        ...
