"""The sandboxed Jinja2 environments every KB template is rendered with.

KB text is data written by people who do not read the engine: it runs sandboxed (no
attribute tricks, no imports) and every template is compiled once per process. Two
flavours: entry ``fix`` texts must render with no facts at all (missing values are
empty), while the engine's own texts (``kb/texts``, findings, recipes, guides) get every
value they name from Python, so a missing one is a bug and raises.

Jinja2 is imported on first need, not with this module: importing it costs a one-shot
command about as much as everything else it does for a short paste. Texts whose only markup
is ``{{ name }}`` render here by substitution, exactly as Jinja renders them (``str`` of the
value; a name not given still goes to Jinja, which raises). Every other template renders
from its tree (``bot.knowledge.template_tree``), made by Jinja2's parser the first time the
template is seen and kept in the user's cache; whatever the tree cannot render for certain
goes to Jinja2. Tests render every KB text both ways; with ``NGINX_TRIAGE_TEMPLATE_CHECK``
set, every render also runs through Jinja2 and any difference raises.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.knowledge import template_tree
from bot.knowledge.template_filters import fmt, plural
from bot.knowledge.template_tree import Fallback, Tree

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from bot.knowledge.template_cache import CodeCache


__all__ = ["evaluate", "fix_env", "fmt", "is_template_error", "plural", "render_fix_text", "render_text", "text_env"]

CHECK_ENV = "NGINX_TRIAGE_TEMPLATE_CHECK"
"""Set (to anything but empty or 0) to render every template with Jinja2 too and raise on a difference."""

_MISSING = object()
_V = TypeVar("_V")


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
    """Compiled template code and trees kept between runs (``bot.knowledge.template_cache``;
    imported here, as a run whose texts are all plain never opens it)."""
    from bot.knowledge.template_cache import default_cache

    here = Path(__file__).parent
    return default_cache(
        Path(__file__), here / "template_cache.py", here / "template_tree.py", here / "template_translate.py"
    )


@cache
def _checking() -> bool:
    return os.environ.get(CHECK_ENV, "") not in ("", "0")


def is_template_error(exc: BaseException) -> bool:
    """Whether ``exc`` is Jinja2's ``TemplateError`` (only Jinja2 raises one, so a run that
    has one has imported Jinja2; a run that has not need not import it to ask)."""
    jinja2 = sys.modules.get("jinja2")
    return jinja2 is not None and isinstance(exc, jinja2.TemplateError)


@lru_cache(maxsize=4096)
def _tree(flavour: str, source: str) -> Tree | None:
    """``source``'s render tree (None: only Jinja2 renders it), from the cache or made now."""
    key = f"tree\0{flavour}\0{source}"
    tree = _codes().get(key, _MISSING)
    if tree is _MISSING:
        from bot.knowledge.template_translate import template_tree

        tree = template_tree(fix_env() if flavour == "fix" else text_env(), source)
        _codes().put(key, tree)
    return tree  # type: ignore[no-any-return]


@lru_cache(maxsize=1024)
def _expression_tree(source: str) -> Tree | None:
    """An engine expression's tree (None: only Jinja2 evaluates it), from the cache or made now."""
    key = f"exprtree\0{source}"
    tree = _codes().get(key, _MISSING)
    if tree is _MISSING:
        from jinja2.exceptions import TemplateSyntaxError
        from jinja2.parser import Parser

        from bot.knowledge.template_translate import expression_tree

        parser = Parser(text_env(), source, state="variable")
        try:
            expr = parser.parse_expression()
            tree = expression_tree(expr) if parser.stream.eos else None
        except TemplateSyntaxError:
            tree = None  # Jinja2 says what is wrong with it
        _codes().put(key, tree)
    return tree  # type: ignore[no-any-return]


def _check(source: str, fast: Any, slow: Any) -> None:
    if fast != slow or type(fast) is not type(slow):
        raise AssertionError(f"template tree and Jinja2 differ on {source!r}: {fast!r} != {slow!r}")


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
    return _tree_or_jinja(
        source,
        _tree("text", source),
        lambda tree: template_tree.render(tree, values, strict=True),
        lambda: text_template(source).render(values),
    )


def render_fix_text(source: str, values: dict[str, Any]) -> str:
    """Render an entry's ``fix`` with ``values`` (a missing one is empty, as in ``fix_env()``)."""
    return _tree_or_jinja(
        source,
        _tree("fix", source),
        lambda tree: template_tree.render(tree, values, strict=False),
        lambda: fix_template(source).render(values),
    )


def evaluate(expression: str, values: dict[str, Any]) -> Any:
    """The value of a Jinja expression (``recommended_worker_connections``, ``a and not b``)."""
    return _tree_or_jinja(
        expression,
        _expression_tree(expression),
        lambda tree: template_tree.evaluate(tree, values),
        lambda: _expression(expression)(**values),
    )


def _tree_or_jinja(source: str, tree: Tree | None, fast: Callable[[Tree], _V], jinja: Callable[[], _V]) -> _V:
    """``fast(tree)`` when the tree answers for certain (and, checking, Jinja2 agrees), else ``jinja()``."""
    if tree is not None:
        try:
            value = fast(tree)
        except Fallback:
            pass
        else:
            if _checking():
                _check(source, value, jinja())
            return value
    return jinja()
