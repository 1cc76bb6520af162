"""The block tree of a parsed dump: which directive sits inside which ``server {}`` / ``location {}``.

``NginxConfig.directives`` is flat, in nginx's reading order, each with its context path.
Two ``server {}`` blocks have the same path, so the tree is rebuilt from the order: a
directive belongs to the last open block at its depth. Includes are already expanded where
they appear, so a location from ``snippets/php.conf`` sits inside the server that includes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.evidence.nginx_config.model import Directive, NginxConfig


@dataclass(eq=False)
class Block:
    """One block (or the main context when ``directive`` is None) and what it holds, in order."""

    directive: Directive | None
    label: str
    parent: Block | None = None
    children: list[Block] = field(default_factory=list)
    """Nested blocks, in reading order."""
    statements: list[Directive] = field(default_factory=list)
    """Every directive directly inside (blocks included), in reading order."""

    @property
    def name(self) -> str:
        """The block's directive name (``server``, ``location``, ``if``), ``main`` for the root."""
        return self.directive.name if self.directive else "main"

    @property
    def args(self) -> tuple[str, ...]:
        """The block's arguments (``('~*', '\\.php$')`` for a regex location)."""
        return self.directive.args if self.directive else ()

    def own(self, name: str) -> list[Directive]:
        """The ``name`` directives set directly in this block, in order."""
        return [d for d in self.statements if d.name == name]

    def blocks(self, name: str) -> list[Block]:
        """The nested blocks called ``name`` directly inside this one."""
        return [b for b in self.children if b.name == name]

    def path(self) -> list[Block]:
        """The blocks from the outermost down to this one (the root left out)."""
        out: list[Block] = []
        node: Block | None = self
        while node is not None and node.directive is not None:
            out.append(node)
            node = node.parent
        out.reverse()
        return out


def _label(d: Directive) -> str:
    return d.name if not d.args else d.name + " " + " ".join(d.args)


def build_tree(config: NginxConfig) -> Block:
    """The main context with every block nested as nginx read it (built once per config, then shared)."""
    cached = config.__dict__.get("_routing_tree")
    if isinstance(cached, Block):
        return cached
    root = Block(None, "main")
    stack: list[Block] = []
    for d in config.directives:
        depth = len(d.context)
        keep = 0
        while keep < min(depth, len(stack)) and stack[keep].label == d.context[keep]:
            keep += 1
        del stack[keep:]
        # A file read in a context no block of the dump opened (a bare snippet, an orphan
        # include) gets stand-in blocks, so its directives still have a parent.
        for i in range(keep, depth):
            parent = stack[-1] if stack else root
            head = d.context[i].split(" ", 1)
            stand_in = Block(Directive(head[0], tuple(head[1:]), d.file, 0, d.context[:i], True), d.context[i], parent)
            parent.children.append(stand_in)
            stack.append(stand_in)
        parent = stack[-1] if stack else root
        parent.statements.append(d)
        if d.block:
            node = Block(d, _label(d), parent)
            parent.children.append(node)
            stack.append(node)
    object.__setattr__(config, "_routing_tree", root)  # a diagnosis routes several requests through it
    return root
