"""KB templates rendered from a plain tree, without importing Jinja2.

Importing Jinja2 and building its sandboxed environment costs a short ``diagnose`` about as
much as the diagnosis itself. The first time a template is seen, Jinja2 parses it and
``bot.knowledge.template_translate`` turns the parse into a tree of tuples (kept in the
user's cache with the compiled code, ``bot.knowledge.template_cache``); this module renders
that tree with the same rules Jinja2's sandbox applies: attribute then item lookup, no
names starting with ``_``, ``str()`` of every value written out, Python's operators.

It only ever answers when it is certain to say what Jinja2 would. Anything else raises
``Fallback`` and the caller renders with Jinja2 itself: a missing value in the engine's
strict texts (Jinja2 raises a precise error for it), a comparison or a filter other than
``default`` on an undefined value in a ``fix`` text, a callable it does not know to be
safe, a generator written out, any exception at all. Tests render every KB template both
ways and, with ``NGINX_TRIAGE_TEMPLATE_CHECK`` set, check every render of the whole suite.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bot.knowledge.template_filters import PLAIN_FILTERS, TESTS, attribute_parts, ignore_case, soft_str

Tree = tuple[Any, ...]
"""A node: its kind first, then its parts (see ``bot.knowledge.template_translate``)."""


class Fallback(Exception):
    """This tree cannot say for certain what Jinja2 would: render with Jinja2."""


class _Undefined:
    """A value a ``fix`` text names but was not given (Jinja2's ``ChainableUndefined``):
    written out as nothing, false in a test, and its attributes are undefined too."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""


UNDEFINED = _Undefined()

JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace"})
"""Names Jinja2 resolves when no value has them: the tree leaves those to Jinja2."""

LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})

_UNSAFE_OWNERS = (
    types.FunctionType,
    types.MethodType,
    type,
    types.CodeType,
    types.TracebackType,
    types.FrameType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
)
"""Objects whose attributes the sandbox guards in detail: the tree leaves them to Jinja2."""

_SAFE_METHOD_OWNERS = (str, dict, list, tuple, int, float)
_LAZY = (types.GeneratorType, map, filter)
"""What ``map``/``select`` give: Jinja2 writes these out with their address; the tree does not."""

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gteq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}


FILTERS = frozenset(PLAIN_FILTERS) | {"default", "d", "join", "max", "min", "map", "select", "selectattr"}
TEST_NAMES = frozenset(TESTS) | {"defined", "undefined"}


class _Run:
    """One render: the values given, the template's own ``set`` names and the loops open."""

    def __init__(self, values: dict[str, Any], strict: bool) -> None:
        self.values = values
        self.strict = strict
        self.scopes: list[dict[str, Any]] = [{}]
        self.loops: list[dict[str, Any]] = []

    def undefined(self) -> _Undefined:
        if self.strict:
            raise Fallback("undefined")  # Jinja2 raises UndefinedError, with the name
        return UNDEFINED

    # statements

    def body(self, statements: Tree, out: list[str]) -> None:
        for node in statements:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "out":
                out.append(self.text(self.expr(node[1])))
            elif kind == "if":
                for test, branch in node[1]:
                    if self.expr(test):
                        self.body(branch, out)
                        break
                else:
                    self.body(node[2], out)
            elif kind == "for":
                self.loop(node, out)
            elif kind == "set":
                self.scopes[-1][node[1]] = self.expr(node[2])
            else:
                raise Fallback(kind)

    def loop(self, node: Tree, out: list[str]) -> None:
        _, target, iterable, body, orelse, test = node
        source = self.expr(iterable)
        if isinstance(source, _Undefined):
            raise Fallback("loop over undefined")
        items = list(source)
        if test is not None:
            kept = []
            for item in items:
                self.scopes.append(self.bind(target, item))
                try:
                    if self.expr(test):
                        kept.append(item)
                finally:
                    self.scopes.pop()
            items = kept
        if not items:
            self.body(orelse, out)
            return
        n = len(items)
        for i, item in enumerate(items):
            self.scopes.append(self.bind(target, item))
            self.loops.append(
                {
                    "index": i + 1,
                    "index0": i,
                    "revindex": n - i,
                    "revindex0": n - i - 1,
                    "first": i == 0,
                    "last": i == n - 1,
                    "length": n,
                }
            )
            try:
                self.body(body, out)
            finally:
                self.loops.pop()
                self.scopes.pop()

    @staticmethod
    def bind(target: Tree, item: Any) -> dict[str, Any]:
        if target[0] == "name":
            return {target[1]: item}
        names = target[1]
        values = tuple(item)
        if len(values) != len(names):
            raise Fallback("unpacking")
        return dict(zip(names, values, strict=True))

    # expressions

    def text(self, value: Any) -> str:
        """What Jinja2 writes for ``{{ value }}`` (``str`` of it)."""
        if isinstance(value, str):
            return value
        if isinstance(value, _LAZY):
            raise Fallback("generator written out")
        return str(value)

    def name(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.values:
            return self.values[name]
        if name in JINJA_GLOBALS:
            raise Fallback(name)
        return self.undefined()

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Undefined):
            return obj
        if attribute.startswith("_") or isinstance(obj, _UNSAFE_OWNERS):
            raise Fallback("guarded attribute")
        try:
            return getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined()

    def getitem(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, _Undefined):
            return obj
        try:
            return obj[key]
        except (TypeError, LookupError):
            if isinstance(key, str):
                if key.startswith("_") or isinstance(obj, _UNSAFE_OWNERS):
                    raise Fallback("guarded attribute") from None
                try:
                    return getattr(obj, key)
                except AttributeError:
                    pass
            return self.undefined()

    def defined(self, value: Any) -> Any:
        """``value`` where only a defined one can be used (a comparison, a sum, a call)."""
        if isinstance(value, _Undefined):
            raise Fallback("undefined used")
        return value

    def expr(self, node: Tree) -> Any:
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "name":
            return self.name(node[1])
        handler = _EXPRESSIONS.get(kind)
        if handler is None:
            raise Fallback(kind)
        return handler(self, node)

    def slice(self, node: Tree) -> Any:
        obj = self.expr(node[1])
        bounds = [None if part is None else self.defined(self.expr(part)) for part in node[2:]]
        return self.getitem(obj, slice(*bounds))

    def loop_attribute(self, node: Tree) -> Any:
        if not self.loops:
            raise Fallback("loop outside a loop")
        return self.loops[-1][node[1]]

    def condition(self, node: Tree) -> Any:
        if self.expr(node[1]):
            return self.expr(node[2])
        return self.undefined() if node[3] is None else self.expr(node[3])

    def compare(self, node: Tree) -> bool:
        left = self.defined(self.expr(node[1]))
        for op, operand in node[2]:
            right = self.defined(self.expr(operand))
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True

    def arguments(self, node: Tree) -> tuple[list[Any], dict[str, Any]]:
        args = [self.expr(arg) for arg in node[-2]]
        kwargs = {key: self.expr(value) for key, value in node[-1]}
        return args, kwargs

    def call(self, node: Tree) -> Any:
        func = self.expr(node[1])
        args, kwargs = self.arguments(node)
        if isinstance(func, types.BuiltinMethodType):
            owner = func.__self__
            if type(owner) not in _SAFE_METHOD_OWNERS or func.__name__ in ("format", "format_map"):
                raise Fallback("method")
        elif not isinstance(func, types.FunctionType) or any(
            getattr(func, flag, False) for flag in ("jinja_pass_arg", "unsafe_callable", "alters_data")
        ):
            raise Fallback("callable")
        return func(*args, **kwargs)

    def test(self, node: Tree) -> bool:
        name, value = node[1], self.expr(node[2])
        if name == "defined":
            return not isinstance(value, _Undefined)
        if name == "undefined":
            return isinstance(value, _Undefined)
        args, kwargs = self.arguments(node)
        return TESTS[name](value, *args, **kwargs)

    def filter(self, node: Tree) -> Any:
        name = node[1]
        value = self.expr(node[2])
        args, kwargs = self.arguments(node)
        if name in ("default", "d"):
            return self.default(value, *args, **kwargs)
        value = self.defined(value)
        if name in PLAIN_FILTERS:
            return PLAIN_FILTERS[name](value, *args, **kwargs)
        if name == "join":
            return self.join(value, *args, **kwargs)
        if name in ("max", "min"):
            return self.extreme(max if name == "max" else min, value, *args, **kwargs)
        if name == "map":
            return self.map(value, *args, **kwargs)
        if name in ("select", "selectattr"):
            return self.select(value, name == "selectattr", args, kwargs)
        raise Fallback(name)

    @staticmethod
    def default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
        if isinstance(value, _Undefined) or (boolean and not value):
            return default_value
        return value

    def attrgetter(self, attribute: Any, default: Any = None) -> Callable[[Any], Any]:
        parts = attribute_parts(attribute)

        def get(item: Any) -> Any:
            for part in parts:
                item = self.getitem(item, part)
                if default is not None and isinstance(item, _Undefined):
                    item = default
            return item

        return get

    def join(self, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
        if attribute is not None:
            value = map(self.attrgetter(attribute), value)
        return soft_str(d).join(map(soft_str, value))

    def extreme(
        self,
        func: Callable[..., Any],
        value: Iterable[Any],
        case_sensitive: bool = False,
        attribute: Any = None,
    ) -> Any:
        items = list(value)
        if not items:
            raise Fallback("empty sequence")  # Jinja2 gives an undefined with its reason
        get = self.attrgetter(attribute)
        key = get if case_sensitive else (lambda item: ignore_case(get(item)))
        return func(items, key=key)

    def map(self, value: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        if args or "attribute" not in kwargs or set(kwargs) - {"attribute", "default"}:
            raise Fallback("map of a filter")
        get = self.attrgetter(kwargs["attribute"], kwargs.get("default"))
        return (get(item) for item in value)

    def select(self, value: Any, by_attribute: bool, args: list[Any], kwargs: dict[str, Any]) -> Iterator[Any]:
        if kwargs:
            raise Fallback("select with keywords")
        get = self.attrgetter(args[0]) if by_attribute else (lambda item: item)
        rest = args[1:] if by_attribute else args
        if rest:
            name, more = rest[0], rest[1:]
            if name in ("defined", "undefined") or name not in TESTS:
                raise Fallback("select test")
            test = TESTS[name]
            keep: Callable[[Any], bool] = lambda item: test(get(item), *more)  # noqa: E731
        else:
            keep = lambda item: bool(get(item))  # noqa: E731
        items = [item for item in value if keep(item)] if value else []
        return (item for item in items)


_EXPRESSIONS: dict[str, Callable[[_Run, Tree], Any]] = {
    "attr": lambda run, n: run.getattr(run.expr(n[1]), n[2]),
    "item": lambda run, n: run.getitem(run.expr(n[1]), run.defined(run.expr(n[2]))),
    "slice": _Run.slice,
    "loop": _Run.loop_attribute,
    "and": lambda run, n: run.expr(n[1]) and run.expr(n[2]),
    "or": lambda run, n: run.expr(n[1]) or run.expr(n[2]),
    "not": lambda run, n: not run.expr(n[1]),
    "neg": lambda run, n: -run.defined(run.expr(n[1])),
    "pos": lambda run, n: +run.defined(run.expr(n[1])),
    "bin": lambda run, n: _BINARY[n[1]](run.defined(run.expr(n[2])), run.defined(run.expr(n[3]))),
    "cmp": _Run.compare,
    "concat": lambda run, n: "".join(str(run.expr(part)) for part in n[1]),
    "cond": _Run.condition,
    "list": lambda run, n: [run.expr(part) for part in n[1]],
    "tuple": lambda run, n: tuple(run.expr(part) for part in n[1]),
    "dict": lambda run, n: {run.expr(k): run.expr(v) for k, v in n[1]},
    "filter": _Run.filter,
    "test": _Run.test,
    "call": _Run.call,
}
"""How each kind of expression node is evaluated (``const`` and ``name`` are answered first)."""


def render(tree: Tree, values: dict[str, Any], *, strict: bool) -> str:
    """The template's text; raises ``Fallback`` when only Jinja2 can say for certain."""
    out: list[str] = []
    try:
        _Run(values, strict).body(tree, out)
    except Fallback:
        raise
    except Exception as exc:  # Jinja2 raises it again, with its own context
        raise Fallback(type(exc).__name__) from None
    return "".join(out)


def evaluate(tree: Tree, values: dict[str, Any]) -> Any:
    """An engine expression's value (strict: a name not given goes to Jinja2)."""
    try:
        value = _Run(values, strict=True).expr(tree)
    except Fallback:
        raise
    except Exception as exc:
        raise Fallback(type(exc).__name__) from None
    if isinstance(value, _LAZY):
        raise Fallback("generator")  # Jinja2 hands back its own generator object
    return value
