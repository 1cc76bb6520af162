"""The diagnosis: plain data that every renderer (text, Markdown, JSON, Slack) reads.

Field names follow the JSON contract in DESIGN.md; ``to_json`` is that contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MatchSummary:
    """One group of lines that matched one KB entry."""

    kb_id: str
    title: str
    severity: str
    count: int
    facts: dict[str, str]
    first_seen: str | None
    last_seen: str | None
    workers: list[str]
    top: dict[str, list[tuple[str, int]]]
    fuzzy: int
    samples: list[str]
    meaning: str
    fix: str


@dataclass(frozen=True)
class Finding:
    """A conclusion with a stable id and the evidence it rests on."""

    id: str
    severity: str
    message: str
    evidence: list[str]


@dataclass(frozen=True)
class Recommendation:
    """One directive to change, where it is, and why."""

    directive: str
    context: str
    current: str | None
    recommended: str
    file: str | None
    line: int | None
    why: str


@dataclass(frozen=True)
class Command:
    """A command to run, and what it is for.

    ``role`` says which step of the plan it is (the environment's command key, e.g.
    ``reload``, or a diagnostic's ``role``) so guides find it without reading its words;
    it is not part of the JSON contract.
    """

    purpose: str
    command: str
    role: str = ""


@dataclass(frozen=True)
class Need:
    """Evidence still missing, the read-only command to get it, and why it matters."""

    evidence: str
    command: str
    why: str


@dataclass(frozen=True)
class Diagnosis:
    """Everything the engine concluded from one set of evidence."""

    matches: list[MatchSummary]
    unmatched_lines: int
    lines: int
    unmatched_samples: list[str] = field(default_factory=list)
    capacity: dict[str, Any] = field(default_factory=dict)
    recommendations: list[Recommendation] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    target_concurrency: dict[str, Any] = field(default_factory=dict)
    sizing_explain: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    diff: str = ""
    alert_rule: str = ""
    reproduce: str = ""
    questions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``nginx-triage diagnose --format json``."""
        out = asdict(self)
        for c in out["commands"]:
            del c["role"]
        for m in out["matches"]:
            m["top"] = {k: [list(pair) for pair in v] for k, v in m["top"].items()}
        return out
