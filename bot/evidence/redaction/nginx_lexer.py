"""Read nginx configuration as nginx does, keeping every token's position in the paste.

Redaction must know that a value is the second argument of ``proxy_set_header Cookie``, a
key of a ``map $http_x_api_key`` block or the right side of ``if ($http_authorization =``;
crossplane gives directives and lines but not where an argument sits in the text, so this
lexer follows nginx's rules (``ngx_conf_read_token``: quotes only at a token's start,
backslash escapes, ``${var}`` inside words, ``#`` comments) and yields statements with the
offsets of their tokens.

A paste holds more than configuration. A line whose first word is no directive (a log
line, a sentence, a limits table) is skipped to its end, so a stray quote in it cannot
swallow the configuration after it; inside ``map``, ``geo``, ``types`` and the like every
line is an entry. The body of a ``*_by_lua_block`` is Lua and is stepped over with Lua's
own string rules. Each ``# configuration file`` header starts a fresh file. One pass,
bounded work per token: linear in the paste.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass
from functools import cache

from bot.lazy_re import lazy_compile

_TOKEN = lazy_compile(
    r"""
      (?P<space>[ \t\r\f\v]+)
    | (?P<nl>\n)
    | (?P<comment>\#[^\n]*)
    | (?P<dq>"(?:[^"\\]|\\.){0,65536}"?)
    | (?P<sq>'(?:[^'\\]|\\.){0,65536}'?)
    | (?P<term>[;{}])
    | (?P<word>(?:[^\s;{}"'\\$]|\\.|\$\{[^}\n]{0,256}\}|\$)(?:[^\s;{}\\$]|\\.|\$\{[^}\n]{0,256}\}|\$){0,65535})
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_HEADER = lazy_compile(r"# configuration file [^\n]{1,4096}:[ \t]*$")
_DIRECTIVE_LIKE = lazy_compile(r"[a-z][a-z0-9_]{0,63}")
_EXTRA_DIRECTIVES = frozenset({"echo", "pagespeed", "brotli", "sticky"})
"""Third-party directives with no underscore in their name (crossplane knows only the stock ones)."""
ENTRY_BLOCKS = frozenset({"map", "geo", "types", "split_clients", "charset_map", "match"})
"""Blocks whose lines are entries (``key value;``), not directives."""
MAX_TOKENS = 4096
"""A statement longer than this is not configuration (a binary paste); it is dropped."""

_LUA = lazy_compile(
    r"""
      (?P<plain>[^{}"'\[\-]+)
    | (?P<string>"(?:[^"\\\n]|\\.){0,65536}"?|'(?:[^'\\\n]|\\.){0,65536}'?)
    | (?P<longcomment>--\[(?P<ceq>=*)\[)
    | (?P<comment>--[^\n]*)
    | (?P<longstring>\[(?P<seq>=*)\[)
    | (?P<brace>[{}])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(slots=True)
class Token:
    """One word or quoted string: ``text[start:end]``, quotes included; ``quote`` is ``"``, ``'`` or ``''``."""

    start: int
    end: int
    quote: str = ""

    @property
    def inner_start(self) -> int:
        """Where the value starts (after the opening quote)."""
        return self.start + (1 if self.quote else 0)

    @property
    def inner_end(self) -> int:
        """Where the value ends (before the closing quote, when there is one)."""
        return self.end - 1 if self.quote and self.end - self.start >= 2 else self.end

    def value(self, text: str) -> str:
        """The token as written, without its quotes (escapes left as they are)."""
        return text[self.inner_start : self.inner_end]


@dataclass(slots=True)
class Statement:
    """A directive (or a block entry) with its tokens; ``block`` when it opens ``{``."""

    tokens: list[Token]
    block: bool = False
    parent: Statement | None = None

    def name(self, text: str) -> str:
        """The directive's name (a block entry's key)."""
        return self.tokens[0].value(text)

    def in_block(self, text: str, *names: str) -> Statement | None:
        """The nearest enclosing block statement named one of ``names``, if any."""
        parent = self.parent
        while parent is not None:
            if parent.name(text) in names:
                return parent
            parent = parent.parent
        return None


@cache
def _known_directives() -> Collection[str]:
    """crossplane's table of nginx directives, imported on first need: crossplane costs about
    3 ms at start-up, and most pastes hold no word shaped like a directive."""
    from crossplane.analyzer import DIRECTIVES

    directives: Collection[str] = DIRECTIVES
    return directives


def directive_like(word: str) -> bool:
    """Whether a line starting with ``word`` can be configuration: a known directive, or a
    lower-case name with an underscore (third-party modules name theirs that way)."""
    if not _DIRECTIVE_LIKE.fullmatch(word):
        return False
    return word in _known_directives() or "_" in word or word in _EXTRA_DIRECTIVES


def lua_block_end(text: str, pos: int) -> int:
    """Offset just after the ``}`` closing a Lua block whose body starts at ``pos``."""
    depth = 1
    n = len(text)
    while pos < n:
        m = _LUA.match(text, pos)
        if m is None:  # pragma: no cover - ``other`` matches any character
            return n
        kind = m.lastgroup
        pos = m.end()
        if kind in ("longcomment", "longstring"):
            eq = m.group("ceq") if kind == "longcomment" else m.group("seq")
            close = text.find("]" + (eq or "") + "]", pos)
            pos = n if close < 0 else close + len(eq or "") + 2
        elif kind == "brace":
            depth += 1 if m.group(0) == "{" else -1
            if depth == 0:
                return pos
    return n


def _looks_like_prose(text: str, tokens: list[Token]) -> bool:
    """A statement running over a line end whose words end in ``,`` or ``:`` is a log line or
    a sentence that began with a directive's name (``upstream timed out ..., client: ...``)."""
    return any(not t.quote and text[t.end - 1] in ",:" for t in tokens)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.stack: list[Statement] = []
        self.entries: list[bool] = []
        """For each open block, whether its lines are entries (``map``, ``types`` ...)."""
        self.current: list[Token] | None = None

    def _in_entries(self) -> bool:
        return bool(self.entries) and self.entries[-1]

    def _close(self, block: bool) -> Statement | None:
        tokens, self.current = self.current, None
        if not tokens:
            return None
        return Statement(tokens, block, self.stack[-1] if self.stack else None)

    def run(self) -> Iterator[Statement]:
        text, n, pos = self.text, len(self.text), 0
        while pos < n:
            m = _TOKEN.match(text, pos)
            assert m is not None  # ``other`` matches any character
            kind, pos = m.lastgroup, m.end()
            if kind == "space":
                continue
            if kind == "comment":
                if _HEADER.fullmatch(m.group(0)):
                    self.stack, self.entries, self.current = [], [], None
                continue
            if kind == "nl":
                if self.current and not self._in_entries() and _looks_like_prose(text, self.current):
                    self.current = None
                continue
            if kind == "term":
                pos = yield from self._terminate(m.group(0), pos)
                continue
            token = Token(m.start(), m.end(), m.group(0)[0] if kind in ("dq", "sq") else "")
            if self.current is None:
                entry = self._in_entries() and kind in ("word", "dq", "sq")
                if not entry and (kind != "word" or not directive_like(m.group(0))):
                    nl = text.find("\n", pos)
                    pos = n if nl < 0 else nl
                    continue
                self.current = [token]
            elif len(self.current) < MAX_TOKENS:
                self.current.append(token)
            else:
                self.current = None

    def _terminate(self, term: str, pos: int) -> Generator[Statement, None, int]:
        """Handle ``;``, ``{`` or ``}``; the position to go on from (after a Lua body, for a Lua block)."""
        if term == "}":
            self.current = None
            if self.stack:
                self.stack.pop()
                self.entries.pop()
            return pos
        statement = self._close(block=term == "{")
        if statement is None:
            return pos
        yield statement
        if term == "{":
            name = statement.name(self.text)
            if name.endswith("_by_lua_block"):
                return lua_block_end(self.text, pos)
            self.stack.append(statement)
            self.entries.append(name in ENTRY_BLOCKS)
        return pos


def statements(text: str) -> Iterator[Statement]:
    """Every statement of the configuration in ``text``, in order, with its enclosing block."""
    return _Lexer(text).run()
