"""Schema of ``kb/findings/<id>.yaml``: one cross-evidence finding per file (gixy style).

A finding connects evidence no single log line shows (config against limits, a log entry
against processes). Its words, severity, the KB entries its check reads and the cases that
prove it live here; the detection is one small Python check named like the file
(``bot/diagnosis/checks/<id with _>.py``) that returns the facts the message needs.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from bot.knowledge.schema import KEBAB_ID, Severity, Strict


class EachFact(Strict):
    """Evidence lines taken verbatim from a list the check returns (log samples, ps rows)."""

    each: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="name of a list-of-strings fact")


class FindingCase(Strict):
    """Evidence, pasted as a user would, that must raise the finding (or must not)."""

    name: str = Field(min_length=3)
    evidence: list[str] = Field(default_factory=list, description="files in kb/findings/cases/, one paste each")
    paste: list[str] = Field(default_factory=list, description="more pastes, inline")
    target_concurrency: int | None = Field(default=None, ge=1)
    environment: str | None = Field(default=None, pattern=KEBAB_ID)
    message: str | None = Field(default=None, description="the rendered message must contain this")
    recommends: list[str] = Field(
        default_factory=list, description="directives the diagnosis must then recommend (`listen`, `pm.max_children`)"
    )

    @model_validator(mode="after")
    def _has_evidence(self) -> FindingCase:
        if not self.evidence and not self.paste:
            raise ValueError("a case needs `evidence` files or a `paste`")
        return self


class FindingEntry(Strict):
    """What a finding says, when it applies, and the evidence that proves it does (and does not)."""

    id: str = Field(pattern=KEBAB_ID)
    severity: Severity
    order: int = Field(ge=0, description="position among findings in every answer (lower first)")
    summary: str = Field(min_length=10, description="one line: the trap this finding catches")
    reads: dict[str, list[str]] = Field(
        default_factory=dict,
        description="slot -> KB error ids whose line groups the check reads (its samples, counts, facts)",
    )
    environment_traits: list[str] = Field(
        default_factory=list,
        description="only where the environment declares one of these traits (always when unknown)",
    )
    message: str = Field(min_length=20, description="Jinja2 template over the check's facts")
    evidence: list[str | EachFact] = Field(
        default_factory=list, description="templates (one line each, empty ones dropped) or {each: fact}"
    )
    fires: list[FindingCase] = Field(default_factory=list)
    stays_silent: list[FindingCase] = Field(default_factory=list)
    recipes: list[str] = Field(
        default_factory=list,
        description="kb/recipes ids (facts: finding) evaluated with the check's facts when it fires",
    )
