"""The sandboxed Jinja2 environments every KB template is rendered with.

KB text is data written by people who do not read the engine: it runs sandboxed (no
attribute tricks, no imports) and every template is compiled once per process. Two
flavours: entry ``fix`` texts must render with no facts at all (missing values are
empty), while the engine's own texts (``kb/texts``, findings, recipes, guides) get every
value they name from Python, so a missing one is a bug and raises.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from bot.knowledge.template_cache import CodeCache, default_cache


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


@cache
def _codes() -> CodeCache:
    """Compiled template code kept between runs (``bot.knowledge.template_cache``)."""
    return default_cache(Path(__file__))


def _from_source(env: SandboxedEnvironment, flavour: str, source: str) -> Template:
    """``env.from_string(source)``, with the compiled code reused from the cache when it is there."""
    key = f"{flavour}\0{source}"
    code = _codes().get(key)
    if code is None:
        code = env.compile(source)
        _codes().put(key, code)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


@lru_cache(maxsize=1024)
def fix_template(source: str) -> Template:
    """An entry's ``fix`` compiled in ``FIX_ENV`` (cached: compiling costs more than rendering)."""
    return _from_source(FIX_ENV, "fix", source)


@lru_cache(maxsize=4096)
def text_template(source: str) -> Template:
    """``source`` compiled in ``TEXT_ENV`` (cached: the same text renders many times)."""
    return _from_source(TEXT_ENV, "text", source)


@lru_cache(maxsize=1024)
def _expression(source: str) -> Any:
    """``TEXT_ENV.compile_expression(source, undefined_to_none=False)``, as Jinja builds it,
    with the compiled code reused from the cache when it is there."""
    key = f"expr\0{source}"
    code = _codes().get(key)
    if code is None:
        parser = Parser(TEXT_ENV, source, state="variable")
        try:
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
            expr.set_environment(TEXT_ENV)
        except TemplateSyntaxError:
            TEXT_ENV.handle_exception(source=source)
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        code = TEXT_ENV.compile(nodes.Template(body, lineno=1))
        _codes().put(key, code)
    template = TEXT_ENV.template_class.from_code(TEXT_ENV, code, TEXT_ENV.make_globals(None), None)
    return TemplateExpression(template, False)


def render_text(source: str, values: dict[str, Any]) -> str:
    """Render one engine text with ``values``; raises on a name it was not given."""
    return text_template(source).render(values)


def evaluate(expression: str, values: dict[str, Any]) -> Any:
    """The value of a Jinja expression (``recommended_worker_connections``, ``a and not b``)."""
    return _expression(expression)(**values)
