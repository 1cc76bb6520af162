"""Jinja2's parse of a KB template as a plain tree that ``bot.knowledge.template_tree`` renders.

Runs once per template source, when it is first compiled (Jinja2 is imported then anyway);
the tree is kept in the user's cache beside the compiled code. The tree holds only tuples,
strings, numbers, booleans and None, so ``marshal`` stores it.

Nodes, kind first:
- statements: ``("text", s)``, ``("out", expr)``, ``("if", ((test, body), ...), else_body)``,
  ``("for", target, iterable, body, else_body, test | None)``, ``("set", name, expr)``;
- expressions: ``("const", v)``, ``("name", n)``, ``("attr", e, n)``, ``("item", e, key)``,
  ``("slice", e, start, stop, step)``, ``("loop", attribute)``, ``("and"|"or", a, b)``,
  ``("not"|"neg"|"pos", e)``, ``("bin", op, a, b)``, ``("cmp", e, ((op, e), ...))``,
  ``("concat", (e, ...))``, ``("cond", test, a, b | None)``, ``("list"|"tuple", (e, ...))``,
  ``("dict", ((k, v), ...))``, ``("filter", name, e, args, kwargs)``,
  ``("test", name, e, args, kwargs)``, ``("call", e, args, kwargs)``.

A template using anything else (macros, blocks, includes, ``set`` inside a loop, recursive
loops, filters and tests the tree does not know) has no tree: Jinja2 always renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jinja2 import nodes

from bot.knowledge.template_tree import FILTERS, LOOP_ATTRIBUTES, TEST_NAMES, Tree

if TYPE_CHECKING:
    from jinja2 import Environment

_BINARY: dict[type[nodes.BinExpr], str] = {
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Mul: "*",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
    nodes.Pow: "**",
}
_UNARY: dict[type[nodes.UnaryExpr], str] = {nodes.Not: "not", nodes.Neg: "neg", nodes.Pos: "pos"}
_COMPARE_OPS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq", "in", "notin"})
_CONSTANT_TYPES = (str, int, float, bool, type(None))


class Unsupported(Exception):
    """The template uses something the tree does not render."""


def template_tree(env: Environment, source: str) -> Tree | None:
    """``source`` (a whole template) as a tree, or None when Jinja2 must render it."""
    from jinja2 import TemplateSyntaxError

    try:
        return _Translate().body(env.parse(source).body)
    except (Unsupported, TemplateSyntaxError):
        return None  # a broken template goes to Jinja2, which says what is wrong with it


def expression_tree(expression: nodes.Expr) -> Tree | None:
    """A parsed engine expression as a tree, or None when Jinja2 must evaluate it."""
    try:
        return _Translate().expr(expression)
    except Unsupported:
        return None


class _Translate:
    """Walks Jinja2's nodes; ``loops`` counts the ``for`` bodies it is inside."""

    def __init__(self) -> None:
        self.loops = 0

    def body(self, statements: list[nodes.Node]) -> Tree:
        out: list[Tree] = []
        for node in statements:
            out.extend(self.statement(node))
        return tuple(out)

    def statement(self, node: nodes.Node) -> list[Tree]:
        if isinstance(node, nodes.Output):
            return [
                ("text", child.data) if isinstance(child, nodes.TemplateData) else ("out", self.expr(child))
                for child in node.nodes
            ]
        if isinstance(node, nodes.If):
            branches = [(self.expr(node.test), self.body(node.body))]
            branches += [(self.expr(elif_.test), self.body(elif_.body)) for elif_ in node.elif_]
            return [("if", tuple(branches), self.body(node.else_))]
        if isinstance(node, nodes.For):
            return [self.for_(node)]
        if isinstance(node, nodes.Assign):
            if self.loops or not isinstance(node.target, nodes.Name):
                raise Unsupported("set inside a loop, or of several names")
            return [("set", node.target.name, self.expr(node.node))]
        raise Unsupported(type(node).__name__)

    def for_(self, node: nodes.For) -> Tree:
        if node.recursive:
            raise Unsupported("recursive loop")
        if any(name.name == "loop" for part in (*node.else_, node.test) if part for name in part.find_all(nodes.Name)):
            raise Unsupported("loop named in a loop's else or filter")
        target = self.target(node.target)
        iterable = self.expr(node.iter)
        orelse = self.body(node.else_)
        test = None if node.test is None else self.expr(node.test)
        self.loops += 1
        try:
            body = self.body(node.body)
        finally:
            self.loops -= 1
        return ("for", target, iterable, body, orelse, test)

    @staticmethod
    def target(node: nodes.Node) -> Tree:
        if isinstance(node, nodes.Name):
            return ("name", node.name)
        if isinstance(node, nodes.Tuple) and all(isinstance(item, nodes.Name) for item in node.items):
            return ("names", tuple(item.name for item in node.items))  # type: ignore[attr-defined]
        raise Unsupported("loop target")

    def exprs(self, items: list[nodes.Expr]) -> Tree:
        return tuple(self.expr(item) for item in items)

    def call_parts(self, node: nodes.Filter | nodes.Test | nodes.Call) -> tuple[Tree, Tree]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unsupported("*args or **kwargs")
        return self.exprs(node.args), tuple((kw.key, self.expr(kw.value)) for kw in node.kwargs)

    def expr(self, node: nodes.Node) -> Tree:
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            raise Unsupported(type(node).__name__)
        return handler(self, node)

    def const(self, node: nodes.Const) -> Tree:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise Unsupported("constant")
        return ("const", node.value)

    def name(self, node: nodes.Name) -> Tree:
        if node.name == "loop" and self.loops:
            raise Unsupported("the loop object itself")
        return ("name", node.name)

    def getattr(self, node: nodes.Getattr) -> Tree:
        if isinstance(node.node, nodes.Name) and node.node.name == "loop" and self.loops:
            if node.attr not in LOOP_ATTRIBUTES:
                raise Unsupported(f"loop.{node.attr}")
            return ("loop", node.attr)
        return ("attr", self.expr(node.node), node.attr)

    def getitem(self, node: nodes.Getitem) -> Tree:
        if isinstance(node.arg, nodes.Slice):
            parts = (node.arg.start, node.arg.stop, node.arg.step)
            return ("slice", self.expr(node.node), *(None if p is None else self.expr(p) for p in parts))
        return ("item", self.expr(node.node), self.expr(node.arg))

    def compare(self, node: nodes.Compare) -> Tree:
        if any(op.op not in _COMPARE_OPS for op in node.ops):
            raise Unsupported("comparison")
        return ("cmp", self.expr(node.expr), tuple((op.op, self.expr(op.expr)) for op in node.ops))

    def condition(self, node: nodes.CondExpr) -> Tree:
        orelse = None if node.expr2 is None else self.expr(node.expr2)
        return ("cond", self.expr(node.test), self.expr(node.expr1), orelse)

    def filter(self, node: nodes.Filter) -> Tree:
        if node.node is None or node.name not in FILTERS:
            raise Unsupported(f"filter {node.name}")
        return ("filter", node.name, self.expr(node.node), *self.call_parts(node))

    def test(self, node: nodes.Test) -> Tree:
        if node.name not in TEST_NAMES:
            raise Unsupported(f"test {node.name}")
        return ("test", node.name, self.expr(node.node), *self.call_parts(node))


_EXPRESSIONS: dict[type[nodes.Node], Callable[[_Translate, Any], Tree]] = {
    nodes.Const: _Translate.const,
    nodes.Name: _Translate.name,
    nodes.Getattr: _Translate.getattr,
    nodes.Getitem: _Translate.getitem,
    nodes.And: lambda t, n: ("and", t.expr(n.left), t.expr(n.right)),
    nodes.Or: lambda t, n: ("or", t.expr(n.left), t.expr(n.right)),
    **{kind: (lambda t, n: (_UNARY[type(n)], t.expr(n.node))) for kind in _UNARY},
    **{kind: (lambda t, n: ("bin", _BINARY[type(n)], t.expr(n.left), t.expr(n.right))) for kind in _BINARY},
    nodes.Compare: _Translate.compare,
    nodes.Concat: lambda t, n: ("concat", t.exprs(n.nodes)),
    nodes.CondExpr: _Translate.condition,
    nodes.List: lambda t, n: ("list", t.exprs(n.items)),
    nodes.Tuple: lambda t, n: ("tuple", t.exprs(n.items)),
    nodes.Dict: lambda t, n: ("dict", tuple((t.expr(pair.key), t.expr(pair.value)) for pair in n.items)),
    nodes.Filter: _Translate.filter,
    nodes.Test: _Translate.test,
    nodes.Call: lambda t, n: ("call", t.expr(n.node), *t.call_parts(n)),
}
"""How each kind of Jinja2 expression node becomes a tree node; any other kind has no tree."""
