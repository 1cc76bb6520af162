"""Pydantic schema of knowledge-base files.

The schema is the contract between the YAML knowledge base and the engine: a KB file that
does not fit it must fail at load with its file, line and field, never half-load. Keep every
model strict (``extra="forbid"``) so a typo in a field name is an error, not a silent no-op.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

KEBAB_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Severity = Literal["critical", "high", "medium", "low", "info"]
NginxLevel = Literal["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
MessageLevel = Literal["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "runtime", "stderr"]


def _compiles(value: str) -> str:
    """A KB regex must compile (case-insensitive, as the matcher uses it)."""
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"regex {value!r} does not compile: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_compiles)]


class Strict(BaseModel):
    """Base for all KB models: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MessageFormat(Strict):
    """One message nginx writes for this error, as in its source."""

    format: str = Field(min_length=3, description="printf-style format from the nginx source")
    level: NginxLevel
    source: str = Field(min_length=3, description="nginx source location, e.g. src/x.c:12-14")


class MatchRules(Strict):
    """How a log message is recognised.

    ``anchors`` are literal, case-insensitive substrings; a line is a candidate for the
    entry only when one of them occurs in its message (the fast path, and what the
    benchmark greps for). ``regexes`` then decide, and their named groups become facts.
    ``errno`` restricts the match to those errno numbers: errno text differs between glibc,
    musl and macOS, the number does not. Only a real errno counts: ``(20: unable to get
    local issuer certificate)`` after ``verify error:`` is an OpenSSL code (see
    ``bot.matching.syscall_errno``). ``message_levels`` restricts the entry to messages
    nginx logs at those levels, as the message catalogue records them: a configuration
    error (``[emerg]``) and a configuration warning (``[warn]``) both end in ``in
    FILE:LINE``, but only the first stops nginx. The level comes from the message text,
    not from the line's prefix, so every line with the same message is classified alike
    (the C grouping path classifies by message) and a line pasted without its level is
    still recognised. Messages the catalogue does not know pass.
    """

    anchors: list[str] = Field(min_length=1)
    regexes: list[Regex] = Field(min_length=1)
    errno: list[int] = Field(default_factory=list)
    message_levels: list[MessageLevel] = Field(
        default_factory=list,
        description="levels nginx logs the message at (from the message catalogue); lines it does not know pass",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="literal, case-insensitive substrings that veto the entry",
    )
    priority: int = Field(
        default=0,
        ge=-100,
        le=100,
        description="higher wins when several entries match one line",
    )

    @field_validator("anchors", "exclude")
    @classmethod
    def _non_blank(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value.strip()) < 3:
                raise ValueError(f"anchor/exclude {value!r} is shorter than 3 characters")
        return values


class Example(Strict):
    """A real line that must match this entry and no other."""

    line: str = Field(min_length=5)
    source: str = Field(min_length=3, description="where the line was seen")
    facts: dict[str, str] = Field(default_factory=dict, description="facts the match must extract (subset)")
    note: str | None = None


class NearMiss(Strict):
    """A line that looks related but must match nothing at all."""

    line: str = Field(min_length=5)
    why: str = Field(min_length=3)


class Need(Strict):
    """Evidence that sharpens the diagnosis of this entry."""

    evidence: str = Field(
        pattern=r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$",
        description="a kind of evidence: a key of kb/evidence.yaml (checked when the KB loads)",
    )
    why: str = Field(min_length=3)


class Diagnostic(Strict):
    """A read-only command worth running, and why."""

    command: str = Field(min_length=2)
    why: str = Field(min_length=3)
    role: str | None = Field(default=None, pattern=KEBAB_ID, description="what it shows, for guides (`current-values`)")
    template: bool = Field(
        default=False,
        description="`command` is Jinja2 over the user's values (bot/diagnosis/user_values.py)",
    )
    when: str = Field(default="true", description="Jinja2 expression over the same values; false leaves it out")


class SizingFeed(Strict):
    """One sizing input a matched line supplies: a fact of the line, or a fixed value."""

    fact: str | None = Field(default=None, description="fact name; its digits become the input")
    pick: Literal["first", "max"] = Field(default="first", description="first value seen, or the largest")
    value: bool | None = Field(default=None, description="a fixed value the line implies")

    @model_validator(mode="after")
    def _one_source(self) -> SizingFeed:
        if (self.fact is None) == (self.value is None):
            raise ValueError("give exactly one of `fact` and `value`")
        return self


class Reference(Strict):
    """Where the knowledge comes from."""

    title: str = Field(min_length=3)
    url: str = Field(min_length=8)


class ErrorEntry(Strict):
    """One NGINX error: what it looks like, what it means and how to fix it."""

    id: str = Field(pattern=KEBAB_ID)
    title: str = Field(min_length=3, max_length=150)
    severity: Severity
    messages: list[MessageFormat] = Field(min_length=1)
    match: MatchRules
    examples: list[Example] = Field(min_length=1)
    near_misses: list[NearMiss] = Field(default_factory=list)
    meaning: str = Field(min_length=20)
    users_saw: str | None = Field(
        default=None,
        min_length=10,
        description="what the people using the site saw when nginx logged this (one sentence; first answer)",
    )
    causes: list[str] = Field(min_length=1)
    needs: list[Need] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(min_length=1)
    fix: str = Field(min_length=20, description="Jinja2 template; see bot/diagnosis")
    related: list[str] = Field(default_factory=list)
    faq: list[str] = Field(default_factory=list)
    references: list[Reference] = Field(min_length=1)
    recipes: list[str] = Field(default_factory=list, description="kb/recipes ids this entry's lines feed")
    sizing: dict[str, SizingFeed] = Field(
        default_factory=dict, description="sizing input name -> what a matched line tells it"
    )

    @model_validator(mode="after")
    def _related_are_ids(self) -> ErrorEntry:
        for ref in [*self.related, *self.faq, *self.recipes]:
            if not re.match(KEBAB_ID, ref):
                raise ValueError(f"related/faq/recipes id {ref!r} is not kebab-case")
        return self


class FaqEntry(Strict):
    """A question people ask, in several phrasings, with one answer."""

    id: str = Field(pattern=KEBAB_ID)
    question: str = Field(min_length=8)
    phrasings: list[str] = Field(min_length=3)
    answer: str = Field(min_length=40)
    related: list[str] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)


class EnvironmentEntry(Strict):
    """One kind of environment: how nginx is tested, reloaded, restarted and inspected there."""

    id: str = Field(pattern=KEBAB_ID)
    title: str = Field(min_length=3)
    detect: list[str] = Field(default_factory=list, description="substrings in pasted evidence that reveal it")
    commands: dict[str, str] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    settings: dict[str, str] = Field(
        default_factory=dict,
        description="nginx directive -> the setting that controls it where nginx.conf is generated "
        "(ingress-nginx ConfigMap keys); non-empty means: change these, never diff nginx.conf",
    )
    default: bool = Field(default=False, description="assumed when nothing pasted reveals the environment")
    placeholders: dict[str, str] = Field(
        default_factory=dict,
        description="placeholder in `commands` -> the pasted value that replaces it (`<container>`: container)",
    )
    specificity: int = Field(default=0, description="on a detection tie the higher wins (compose beats docker)")
    traits: list[str] = Field(default_factory=list, description="what holds here, for findings (kebab-case)")
    runs_as: list[Literal["systemd", "container", "kubernetes"]] = Field(
        default_factory=list,
        description="how nginx runs here as `systemctl status nginx` and /proc/1/cgroup tell it (kind of "
        "bot.evidence.system.model.RunEnvironment): a pasted one narrows detection to these environments",
    )


class EvidenceKindEntry(Strict):
    """What one kind of evidence is and the read-only command that produces it.

    The keys of ``kb/evidence.yaml`` are the evidence-kind vocabulary; ``label`` is how a
    reply names the kind in a sentence.
    """

    label: str = Field(min_length=3, max_length=40)
    title: str = Field(min_length=3)
    command: str = Field(min_length=2)
    why: str = Field(min_length=3)
    template: bool = Field(default=False, description="`command` is Jinja2 over the user's values, as diagnostics")
    proven_by: list[str] = Field(
        default_factory=list, description="other evidence kinds that answer the same question (no need to ask again)"
    )
