"""Schema of ``kb/recipes/<id>.yaml``: a fix as data, which directive gets which value where.

An error entry names the recipes its lines feed (``recipes:``), and so does a finding whose
check fires. The engine evaluates each recipe's changes against its facts: the sizing
result, the matched line with the ``server`` / ``location`` that handled it (``request``), or
the finding's facts (``finding``). Each change becomes a recommendation with file and line,
an edit for the diff, and the commands that verify it. Values, conditions and directive
names are Jinja2 expressions, so a recipe that picks ``fastcgi_read_timeout`` or
``proxy_read_timeout`` by the handling location's module is YAML, not code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.knowledge.schema import KEBAB_ID, Strict

Block = Literal["main", "events", "http", "server", "location", "php-fpm-pool"]
"""Where a directive that is not set yet is inserted: the main context, a top-level block, the
``server`` / ``location`` that handled the request, or a php-fpm pool file; an existing one is
edited on its own line."""

FactSource = Literal["sizing", "request", "finding"]
"""What feeds a recipe's expressions: ``sizing`` is the sizing result (``bot.sizing.Recommendation``);
``request`` a matched line's facts and the blocks that handled it; ``finding`` the facts of the
finding that names the recipe."""


class Change(Strict):
    """One directive to set: its value, the value in effect now, where it goes and why."""

    directive: str = Field(min_length=2, description="Jinja2 template giving the directive's name")
    block: Block = Field(default="main", description="block it belongs in; its existing line is edited if set")
    at: str | None = Field(
        default=None,
        description="Jinja2 expression giving {file, line} of the existing line to edit (e.g. a finding's place); "
        "`block` is then ignored",
    )
    each: str | None = Field(
        default=None, description="Jinja2 expression giving a list; the change is made once per `item`"
    )
    value: str = Field(min_length=1, description="Jinja2 expression: the value to set (none: no change)")
    current: str = Field(min_length=1, description="Jinja2 expression: the value in effect now")
    when: str = Field(default="true", description="Jinja2 expression; false skips the change")
    why: str = Field(min_length=3, description="Jinja2 template: why this value")


class VerifyCommand(Strict):
    """A read-only command from the environment that shows the change took effect."""

    command: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="key of the environment's `commands`")
    purpose: str = Field(min_length=3)


class CheckStep(Strict):
    """A command a guide shows after the change, and what its pasted output must show.

    The guide of issue 10 turns these into its verify step: ``command`` is a Jinja2 template
    over the recipe's facts (the user's URL, socket, error_log path); ``must_show`` and
    ``fails_on`` are Jinja2 templates of literal, case-insensitive strings.
    """

    purpose: str = Field(min_length=3)
    command: str = Field(min_length=2)
    must_show: list[str] = Field(default_factory=list)
    fails_on: list[str] = Field(default_factory=list)
    when: str = Field(default="true", description="Jinja2 expression; false leaves the check out")


class Recipe(Strict):
    """A fix: the changes, what feeds their values, and how to verify them."""

    id: str = Field(pattern=KEBAB_ID)
    title: str = Field(min_length=3)
    facts: FactSource = "sizing"
    guide: str | None = Field(default=None, pattern=KEBAB_ID, description="kb/guides entry that walks through it")
    let: dict[str, str] = Field(
        default_factory=dict,
        description="name -> Jinja2 expression, evaluated in order and added to the facts (values several changes use)",
    )
    changes: list[Change] = Field(min_length=1)
    verify: list[VerifyCommand] = Field(default_factory=list)
    checks: list[CheckStep] = Field(
        default_factory=list, description="commands with the user's values, and what their output must show"
    )
    restarts: list[str] = Field(
        default_factory=list,
        description="environment command keys to run after the change instead of a reload (`restart_php_fpm`)",
    )
