"""Read C source the way nginx writes it: tokens, string macros, functions and calls.

This is not a C parser. nginx's code is regular enough that a tokenizer plus brace
counting finds what the catalogue needs: every call of a logging function with its
arguments, the function each call sits in, the string macros (``ngx_open_file_n``) that
formats are glued from, the ``ngx_command_t`` tables that name directives and their
handlers, and the ``ngx_module_t`` a file defines. Preprocessor branches are all read
(a message inside ``#if (NGX_HAVE_...)`` is still a message nginx can print); brace depth
is restored at ``#else``/``#elif`` so that a block opened in both branches counts once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.lazy_re import lazy_compile

_TOKEN = lazy_compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<chr>'(?:[^'\\\n]|\\.)*')
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<punct>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>=?:;,.(){}\[\]#\\])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_PP_LINE = lazy_compile(r"[ \t]*#[ \t]*(\w*)((?:[^\n\\]|\\.|\\\n)*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'", "?": "?", "a": "\a"}


@dataclass(frozen=True, slots=True)
class Token:
    """One C token: kind (``id``, ``str``, ``chr``, ``num``, ``punct``, ``other``), text, 1-based line."""

    kind: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class PreprocessorLine:
    """A preprocessor line: ``#define``, ``#if`` ... with its text and line."""

    name: str
    body: str
    line: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a named function: its arguments as token lists and where it sits."""

    name: str
    args: tuple[tuple[Token, ...], ...]
    line: int
    function: str | None
    function_takes_conf: bool


@dataclass
class SourceFile:
    """What the catalogue needs from one C file."""

    path: str
    calls: list[Call] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    commands: list[tuple[str, str | None]] = field(default_factory=list)  # (directive, handler)
    functions: set[str] = field(default_factory=set)
    # ``return "text";`` in functions that read configuration: directive handlers return the
    # end of the message ngx_conf_file.c logs as ``"%s" directive %s``.
    returns: list[tuple[str, str, int]] = field(default_factory=list)  # (function, text, line)


def decode_c_string(literal: str) -> str:
    """The value of one C string literal, quotes included in ``literal``."""
    body = literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "x":
            m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2 :])
            digits = m.group(0) if m else ""
            out.append(chr(int(digits, 16)) if digits else "x")
            i += 2 + len(digits)
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert m is not None
            out.append(chr(int(m.group(0), 8)))
            i += 1 + len(m.group(0))
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def tokenize(text: str) -> Iterator[Token | PreprocessorLine]:
    """Tokens and preprocessor lines of a C file, comments dropped."""
    line = 1
    pos = 0
    at_line_start = True
    n = len(text)
    while pos < n:
        if at_line_start:
            pp = _PP_LINE.match(text, pos)
            if pp is not None and pp.group(0).strip().startswith("#"):
                body = pp.group(2)
                yield PreprocessorLine(pp.group(1), body, line)
                line += pp.group(0).count("\n")
                pos = pp.end()
                continue
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the last alternative matches any character
            break
        kind = m.lastgroup or "other"
        value = m.group(0)
        pos = m.end()
        if kind == "nl":
            line += 1
            at_line_start = True
            continue
        if kind in ("ws", "comment"):
            line += value.count("\n")
            if "\n" in value:
                at_line_start = True
            continue
        at_line_start = False
        yield Token(kind, value, line)


_DEFINE = lazy_compile(r"\s*([A-Za-z_]\w*)(?!\()\s+(.*)$", re.DOTALL)


def string_macros(text: str) -> dict[str, str]:
    """``#define NAME "literal"`` (or literals and other such names glued) in one file."""
    found: dict[str, str] = {}
    for item in tokenize(text):
        if not isinstance(item, PreprocessorLine) or item.name != "define":
            continue
        m = _DEFINE.match(item.body.replace("\\\n", " "))
        if m is None:
            continue
        parts = [t for t in tokenize(m.group(2)) if isinstance(t, Token)]
        if parts and all(t.kind in ("str", "id") for t in parts) and any(t.kind == "str" for t in parts):
            found.setdefault(m.group(1), " ".join(t.text for t in parts))
    return found


def resolve_string(tokens: tuple[Token, ...], macros: dict[str, str], depth: int = 0) -> str | None:
    """The string a format argument spells (literals and string macros), or None.

    A name that is no string macro between literals is a value fixed when nginx is built
    (``"getpwnam(\"" NGX_USER "\") failed"``): it becomes ``%s``, a hole like any other.
    """
    if not tokens or depth > 8:
        return None
    out: list[str] = []
    for tok in tokens:
        if tok.kind == "str":
            out.append(decode_c_string(tok.text))
        elif tok.kind == "id" and tok.text in macros:
            inner = tuple(t for t in tokenize(macros[tok.text]) if isinstance(t, Token))
            value = resolve_string(inner, macros, depth + 1)
            if value is None:
                return None
            out.append(value)
        elif tok.kind == "id" and tok.text.isupper() and any(t.kind == "str" for t in tokens):
            out.append("%s")
        else:
            return None
    return "".join(out)


def resolve_formats(tokens: tuple[Token, ...], macros: dict[str, str]) -> list[str]:
    """Every format an argument can be: one, or both arms of ``cond ? "a" : "b"``."""
    texts = [t.text for t in tokens]
    if "?" in texts and ":" in texts:
        q = texts.index("?")
        c = texts.index(":", q)
        arms = [resolve_string(tokens[q + 1 : c], macros), resolve_string(tokens[c + 1 :], macros)]
        return [a for a in arms if a is not None] if all(a is not None for a in arms) else []
    one = resolve_string(tokens, macros)
    return [] if one is None else [one]


class _Scanner:
    """Walks one file's tokens, tracking brace depth, the enclosing function and calls."""

    def __init__(self, path: str, text: str, call_names: frozenset[str]) -> None:
        self.result = SourceFile(path)
        self.call_names = call_names
        self.tokens: list[Token] = []
        # Preprocessor branch lines, by the index of the token that follows them.
        self.marks: dict[int, list[str]] = {}
        for item in tokenize(text):
            if isinstance(item, Token):
                self.tokens.append(item)
            elif item.name in _BRANCHES:
                self.marks.setdefault(len(self.tokens), []).append(item.name)
        self.depth = 0
        self.branches: list[list[int]] = []
        self.function: str | None = None
        self.takes_conf = False

    def run(self) -> SourceFile:
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            self._branch_marks(i)
            tok = tokens[i]
            if tok.text == "{":
                if self.depth == 0:
                    self._enter_block(i)
                self.depth += 1
            elif tok.text == "}":
                self.depth = max(0, self.depth - 1)
                if self.depth == 0:
                    self.function = None
                    self.takes_conf = False
            elif tok.text == "return" and self.depth > 0 and self.takes_conf and self.function:
                self._return_string(i)
            elif tok.kind == "id" and self.depth > 0 and tok.text in self.call_names:
                end = self._call(i)
                for j in range(i + 1, end):
                    self._branch_marks(j)
                i = max(end, i + 1)
                continue
            i += 1
        return self.result

    def _branch_marks(self, at: int) -> None:
        """Follow ``#if``/``#else``/``#endif`` before token ``at``: each branch starts at the depth of the ``#if``."""
        for name in self.marks.get(at, ()):
            if name in ("if", "ifdef", "ifndef"):
                self.branches.append([self.depth, -1])
            elif name in ("elif", "else") and self.branches:
                top = self.branches[-1]
                if top[1] < 0:
                    top[1] = self.depth
                self.depth = top[0]
            elif name == "endif" and self.branches:
                top = self.branches.pop()
                if top[1] >= 0:
                    self.depth = top[1]

    def _enter_block(self, i: int) -> None:
        """A top-level ``{``: a function body, a table (commands, module) or a struct."""
        tokens = self.tokens
        if i > 0 and tokens[i - 1].text == ")":
            close = i - 1
            level = 0
            j = close
            while j >= 0:
                if tokens[j].text == ")":
                    level += 1
                elif tokens[j].text == "(":
                    level -= 1
                    if level == 0:
                        break
                j -= 1
            if j > 0 and tokens[j - 1].kind == "id":
                self.function = tokens[j - 1].text
                self.result.functions.add(self.function)
                self.takes_conf = any(t.text == "ngx_conf_t" for t in tokens[j:close])
            return
        if i >= 3 and tokens[i - 1].text == "=":
            j = i - 2
            if tokens[j].text == "]" and tokens[j - 1].text == "[":
                j -= 2
            if tokens[j].kind == "id" and tokens[j - 1].text == "ngx_module_t":
                self.result.modules.append(tokens[j].text)
            elif tokens[j].kind == "id" and tokens[j - 1].text == "ngx_command_t":
                self._commands(i)

    def _commands(self, i: int) -> None:
        """``{ ngx_string("name"), FLAGS, handler, ... }`` rows of a command table."""
        rows, _end = _split_args(self.tokens, i)
        for row in rows:
            if len(row) < 5 or row[0].text != "{" or row[1].text != "ngx_string" or row[3].kind != "str":
                continue
            fields, _ = _split_args(list(row), 0)
            handler = fields[2] if len(fields) > 2 else ()
            name = handler[0].text if len(handler) == 1 and handler[0].kind == "id" else None
            self.result.commands.append((decode_c_string(row[3].text), name))

    def _return_string(self, i: int) -> None:
        """``return "literal" "literal";`` (only string literals, nothing else)."""
        tokens = self.tokens
        j = i + 1
        parts: list[str] = []
        while j < len(tokens) and tokens[j].kind == "str":
            parts.append(decode_c_string(tokens[j].text))
            j += 1
        if parts and j < len(tokens) and tokens[j].text == ";" and self.function is not None:
            self.result.returns.append((self.function, "".join(parts), tokens[i].line))

    def _call(self, i: int) -> int:
        tokens = self.tokens
        if i + 1 >= len(tokens) or tokens[i + 1].text != "(":
            return i
        if i > 0 and (tokens[i - 1].text in ("->", ".") or tokens[i - 1].kind == "id"):
            return i  # a member, or a declaration inside a block
        args, end = _split_args(tokens, i + 1)
        self.result.calls.append(Call(tokens[i].text, args, tokens[i].line, self.function, self.takes_conf))
        return end


_BRANCHES = frozenset({"if", "ifdef", "ifndef", "elif", "else", "endif"})


def _split_args(tokens: list[Token], start: int) -> tuple[tuple[tuple[Token, ...], ...], int]:
    """Top-level comma-separated groups between ``tokens[start]`` (an opening bracket) and its closer."""
    args: list[tuple[Token, ...]] = []
    cur: list[Token] = []
    level = 0
    j = start
    while j < len(tokens):
        text = tokens[j].text
        if text in ("(", "{", "["):
            level += 1
            if level > 1:
                cur.append(tokens[j])
        elif text in (")", "}", "]"):
            level -= 1
            if level == 0:
                if cur:
                    args.append(tuple(cur))
                return tuple(args), j + 1
            cur.append(tokens[j])
        elif text == "," and level == 1:
            args.append(tuple(cur))
            cur = []
        else:
            cur.append(tokens[j])
        j += 1
    return tuple(args), j


def scan_file(path: str, text: str, call_names: frozenset[str]) -> SourceFile:
    """Calls of ``call_names``, modules, command tables and function names of one C file."""
    return _Scanner(path, text, call_names).run()
