"""Schema of ``kb/guides/<id>.yaml``: a guided fix as numbered steps, and what each step's
pasted output must show.

A junior on call follows steps, not a report. Each step has variants (the first whose
``when`` holds is shown), a longer explanation, and the check its pasted output must pass;
the checks are Python (they parse output), their words and markers are here. A recipe
names its guide; the guide marked ``default`` serves every other diagnosis.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bot.knowledge.schema import KEBAB_ID, Strict

StepKind = Literal["check", "change", "test", "reload", "verify"]

CheckKind = Literal[
    "evidence", "config-values", "pool-values", "nginx-test", "reload-output", "new-workers", "error-gone"
]
"""How pasted output is judged: ``evidence`` adds it to the thread and wants the missing kinds;
``config-values`` wants a fresh ``nginx -T`` with every planned value; ``nginx-test`` wants
``must_show`` and none of ``fails_on``; ``reload-output`` fails on any of ``fails_on``;
``new-workers`` wants a new worker's limits (not the master's, not an old worker's);
``pool-values`` wants the php-fpm pool settings (``grep -Hn`` of the pool file) at every planned
value; ``error-gone`` wants output (``curl``, ``grep -c``, log lines) with ``must_show``, none of
``fails_on`` and no line of the errors the thread diagnosed."""


class StepVariant(Strict):
    """One way a step reads; Jinja2 templates over the step context (see kb/README.md)."""

    when: str = Field(default="true", description="Jinja2 expression; the first variant that holds is used")
    title: str = Field(min_length=3)
    body: str = Field(min_length=3)
    command: str = Field(default="", description="the command to run (empty: none)")
    expect: str = Field(default="", description="what pasted output must show, in words (empty: nothing to paste)")


class Step(Strict):
    """One numbered step: how it reads, why it is there, and how its output is checked."""

    kind: StepKind
    when: str = Field(
        default="true",
        description="Jinja2 expression; false leaves the step out (no reload when nothing in nginx changes)",
    )
    variants: list[StepVariant] = Field(min_length=1)
    explain: str = Field(min_length=3, description="Jinja2 template; paragraphs separated by a blank line")
    check: CheckKind
    must_show: list[str] = Field(default_factory=list, description="literal, case-insensitive")
    fails_on: list[str] = Field(default_factory=list, description="literal, case-insensitive")
    say: dict[str, str] = Field(default_factory=dict, description="the check's verdicts and hints, by name")


class Guide(Strict):
    """A guided fix: the evidence it insists on first and its steps in order."""

    id: str = Field(pattern=KEBAB_ID)
    title: str = Field(min_length=3)
    default: bool = Field(default=False, description="the guide for diagnoses whose recipes name none")
    decisive_evidence: list[str] = Field(
        default_factory=list, description="evidence kinds the check step asks for before anything else"
    )
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _last_variant_is_unconditional(self) -> Guide:
        for step in self.steps:
            if step.variants[-1].when.strip() != "true":
                raise ValueError(f"step {step.kind}: the last variant must have no `when` (it is the fallback)")
        return self
