"""nginx's ``include`` globs matched against the dump's file names, in linear time.

Why not a regex: ``*`` becomes ``[^/]*``, and a pasted pattern with fifty stars (or
``*a*a*a...``) makes the backtracking engine try exponentially many splits of a name it does
not match: one fuzzed 2 KB dump took 5 s in a single ``include``. Here the pattern runs as a
set of positions advanced one character at a time, so the work is at most the pattern's
length times the name's, whatever the pattern.

Semantics are glob(3)'s as nginx uses them: ``*`` is any run and ``?`` any one character
except ``/``; ``[...]`` is a class (``[!...]`` negated; a ``]`` right after the ``[`` or
``[!`` belongs to the class); everything else is literal; the whole name must match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STAR, _ONE, _LIT, _CLASS = range(4)


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled ``include`` pattern; ``match(name)`` says whether it names that file."""

    tokens: tuple[tuple[int, object], ...]
    """(kind, argument): ``_LIT`` with its character, ``_CLASS`` with a one-character regex."""

    def match(self, name: str) -> bool:
        """Whether the whole of ``name`` matches (at most len(tokens) x len(name) steps)."""
        tokens, end = self.tokens, len(self.tokens)
        states = self._closure({0})
        for ch in name:
            after: set[int] = set()
            for i in states:
                if i == end:
                    continue
                kind, arg = tokens[i]
                if kind == _STAR:
                    if ch != "/":
                        after.add(i)
                elif kind == _LIT:
                    if ch == arg:
                        after.add(i + 1)
                elif kind == _ONE:
                    if ch != "/":
                        after.add(i + 1)
                elif arg.fullmatch(ch) is not None:  # type: ignore[attr-defined]
                    after.add(i + 1)
            if not after:
                return False
            states = self._closure(after)
        return end in states

    def _closure(self, states: set[int]) -> set[int]:
        """``states`` plus the positions after stars that may match nothing."""
        out = set(states)
        for i in sorted(states):
            while i < len(self.tokens) and self.tokens[i][0] == _STAR:
                i += 1
                out.add(i)
        return out


def compile_glob(pattern: str) -> Glob:
    """The pattern as tokens; a class Python cannot read (``[z-a]``) makes it all literal."""
    tokens: list[tuple[int, object]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if not tokens or tokens[-1][0] != _STAR:  # "**" is "*": one run either way
                tokens.append((_STAR, None))
        elif ch == "?":
            tokens.append((_ONE, None))
        elif ch == "[" and (close := pattern.find("]", i + 2)) >= 0:
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            try:
                tokens.append((_CLASS, re.compile("[" + body.replace("\\", "\\\\") + "]")))
            except re.error:
                return Glob(tuple((_LIT, c) for c in pattern))
            i = close
        else:
            tokens.append((_LIT, ch))
        i += 1
    return Glob(tuple(tokens))
