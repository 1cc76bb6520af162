"""The sandboxed Jinja2 environments every KB template is rendered with.

KB text is data written by people who do not read the engine: it runs sandboxed (no
attribute tricks, no imports) and every template is compiled once per process. Two
flavours: entry ``fix`` texts must render with no facts at all (missing values are
empty), while the engine's own texts (``kb/texts``, findings, recipes, guides) get every
value they name from Python, so a missing one is a bug and raises.

Jinja2 is imported on first need, not with this module: importing it costs a one-shot
command about as much as everything else it does for a short paste, and many texts are
plain sentences whose only markup is ``{{ name }}``. Those render here by substitution,
exactly as Jinja renders them (``str`` of the value; a name not given still goes to Jinja,
which raises); a test checks the two agree on every such text in the knowledge base.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.knowledge.template_cache import CodeCache, default_cache

if TYPE_CHECKING:
    from jinja2 import Template
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
    from jinja2 import ChainableUndefined, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

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


@cache
def fix_env() -> SandboxedEnvironment:
    """For ``kb/errors`` ``fix`` templates: they render with empty facts and sizing."""
    return _environment(strict=False)


@cache
def text_env() -> SandboxedEnvironment:
    """For the engine's texts: every variable a template names must be passed."""
    return _environment(strict=True)


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
    """An entry's ``fix`` compiled in ``fix_env()`` (cached: compiling costs more than rendering)."""
    return _from_source(fix_env(), "fix", source)


@lru_cache(maxsize=4096)
def text_template(source: str) -> Template:
    """``source`` compiled in ``text_env()`` (cached: the same text renders many times)."""
    return _from_source(text_env(), "text", source)


@lru_cache(maxsize=1024)
def _expression(source: str) -> Any:
    """``text_env().compile_expression(source, undefined_to_none=False)``, as Jinja builds it,
    with the compiled code reused from the cache when it is there."""
    from jinja2 import nodes
    from jinja2.environment import TemplateExpression
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    env = text_env()
    key = f"expr\0{source}"
    code = _codes().get(key)
    if code is None:
        parser = Parser(env, source, state="variable")
        try:
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
            expr.set_environment(env)
        except TemplateSyntaxError:
            env.handle_exception(source=source)
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        code = env.compile(nodes.Template(body, lineno=1))
        _codes().put(key, code)
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return TemplateExpression(template, False)


_PLAIN_NAME = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NOT_VARIABLES = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"})
"""Words Jinja reads as constants or operators inside ``{{ }}``, never as a value's name."""


@lru_cache(maxsize=4096)
def plain_parts(source: str) -> tuple[tuple[str, str], ...] | None:
    """``source`` as (text, name) pairs when its only markup is ``{{ name }}`` (the last pair's
    name is empty); None when it uses anything else Jinja reads (tags, comments, filters,
    expressions) or holds a carriage return (Jinja rewrites line ends)."""
    if "{%" in source or "{#" in source or "\r" in source:
        return None
    parts: list[tuple[str, str]] = []
    at = 0
    for m in _PLAIN_NAME.finditer(source):
        if m.group(1) in _NOT_VARIABLES:
            return None
        parts.append((source[at : m.start()], m.group(1)))
        at = m.end()
    parts.append((source[at:], ""))
    if any("{{" in text for text, _ in parts):
        return None  # some other expression inside {{ }}
    return tuple(parts)


def render_text(source: str, values: dict[str, Any]) -> str:
    """Render one engine text with ``values``; raises on a name it was not given."""
    parts = plain_parts(source)
    if parts is not None and all(not name or name in values for _, name in parts):
        return "".join(text + (str(values[name]) if name else "") for text, name in parts)
    return text_template(source).render(values)


def evaluate(expression: str, values: dict[str, Any]) -> Any:
    """The value of a Jinja expression (``recommended_worker_connections``, ``a and not b``)."""
    return _expression(expression)(**values)
