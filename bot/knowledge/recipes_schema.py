"""Schema of ``kb/recipes/<id>.yaml``: a fix as data, which directive gets which value where.

An error entry names the recipes it feeds (``recipes:``); when one of its lines matched,
the engine evaluates the recipe's changes against the facts (today: the sizing result) and
turns each into a recommendation with file and line, an edit for the diff, and the
commands that verify it. Values, conditions and directive names are Jinja2 expressions, so
a recipe that picks ``fastcgi_read_timeout`` or ``proxy_read_timeout`` by the handling
location's module is YAML, not code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.knowledge.schema import KEBAB_ID, Strict

Block = Literal["main", "events", "http"]
"""Where a directive that is not set yet is inserted: the main context or a top-level block."""

FactSource = Literal["sizing"]
"""What feeds a recipe's expressions: ``sizing`` is the sizing result (``bot.sizing.Recommendation``)."""


class Change(Strict):
    """One directive to set: its value, the value in effect now, where it goes and why."""

    directive: str = Field(min_length=2, description="Jinja2 template giving the directive's name")
    block: Block = Field(default="main", description="block it belongs in; its existing line is edited if set")
    value: str = Field(min_length=1, description="Jinja2 expression: the value to set (none: no change)")
    current: str = Field(min_length=1, description="Jinja2 expression: the value in effect now")
    when: str = Field(default="true", description="Jinja2 expression; false skips the change")
    why: str = Field(min_length=3, description="Jinja2 template: why this value")


class VerifyCommand(Strict):
    """A read-only command from the environment that shows the change took effect."""

    command: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="key of the environment's `commands`")
    purpose: str = Field(min_length=3)


class Recipe(Strict):
    """A fix: the changes, what feeds their values, and how to verify them."""

    id: str = Field(pattern=KEBAB_ID)
    title: str = Field(min_length=3)
    facts: FactSource = "sizing"
    guide: str | None = Field(default=None, pattern=KEBAB_ID, description="kb/guides entry that walks through it")
    changes: list[Change] = Field(min_length=1)
    verify: list[VerifyCommand] = Field(default_factory=list)
