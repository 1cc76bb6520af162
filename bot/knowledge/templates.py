"""The sandboxed Jinja2 environments every KB template is rendered with.

KB text is data written by people who do not read the engine: it runs sandboxed (no
attribute tricks, no imports) and every template is compiled once per process. Two
flavours: entry ``fix`` texts must render with no facts at all (missing values are
empty), while the engine's own texts (``kb/texts``, findings, recipes, guides) get every
value they name from Python, so a missing one is a bug and raises.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 line``, ``3 lines`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def fmt(value: Any, spec: str) -> str:
    """Python's ``format(value, spec)``: ``g``, ``.0%``, ``.2f``, ``,``."""
    return format(value, spec)


def _environment(*, strict: bool) -> SandboxedEnvironment:
    """``strict``: the engine's texts (a missing value raises; indented tags and a final
    newline stay as written). Otherwise the forgiving flavour of entry ``fix`` texts."""
    env = SandboxedEnvironment(
        undefined=StrictUndefined if strict else ChainableUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=strict,
        keep_trailing_newline=strict,
    )
    env.filters["plural"] = plural
    env.filters["fmt"] = fmt
    return env


FIX_ENV = _environment(strict=False)
"""For ``kb/errors`` ``fix`` templates: they render with empty facts and sizing."""

TEXT_ENV = _environment(strict=True)
"""For the engine's texts: every variable a template names must be passed."""


@lru_cache(maxsize=1024)
def fix_template(source: str) -> Template:
    """An entry's ``fix`` compiled in ``FIX_ENV`` (cached: compiling costs more than rendering)."""
    return FIX_ENV.from_string(source)


@lru_cache(maxsize=4096)
def text_template(source: str) -> Template:
    """``source`` compiled in ``TEXT_ENV`` (cached: the same text renders many times)."""
    return TEXT_ENV.from_string(source)


@lru_cache(maxsize=1024)
def _expression(source: str) -> Any:
    return TEXT_ENV.compile_expression(source, undefined_to_none=False)


def render_text(source: str, values: dict[str, Any]) -> str:
    """Render one engine text with ``values``; raises on a name it was not given."""
    return text_template(source).render(values)


def evaluate(expression: str, values: dict[str, Any]) -> Any:
    """The value of a Jinja expression (``recommended_worker_connections``, ``a and not b``)."""
    return _expression(expression)(**values)
