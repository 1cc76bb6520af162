"""Where an ``nginx -T`` dump in a paste ends: brace depth and quoting, line by line."""

from __future__ import annotations

from bot.lazy_re import lazy_compile

_CONFIG_TAIL = lazy_compile(r"[;{}]\s*(?:#.*)?$")
_DIRECTIVE_OPEN = lazy_compile(r"^[a-z_][\w.-]*\s+\S")


class ConfigScan:
    """Brace depth and quoting across the lines of one file in an ``nginx -T`` dump.

    A file nginx parsed always closes its braces, so depth 0 marks where a dump may end;
    inside a block anything (Lua, a map, a types table) is config.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""
        self.pending = False  # a directive whose arguments continue on the next line

    def reset(self) -> None:
        """Start a new file of the dump."""
        self.depth, self.quote, self.pending = 0, "", False

    @property
    def at_top(self) -> bool:
        """Outside every block, quote and unfinished directive: where a dump may end."""
        return self.depth == 0 and not self.quote and not self.pending

    def feed(self, s: str) -> None:
        """Take one config line into the depth, quote and pending-directive state."""
        if not self.quote and "#" not in s and '"' not in s and "'" not in s:
            # Most config lines have no quotes or comments: count braces in C, not per char.
            opens, closes = s.count("{"), s.count("}")
            if opens or closes:
                self.depth = max(0, self.depth + opens - closes)
            if self.depth == 0:
                body = s.rstrip()
                self.pending = bool(body) and not body.endswith((";", "{", "}"))
            return
        token_start = True
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if self.quote:
                if c == "\\":
                    i += 1
                elif c == self.quote:
                    self.quote = ""
                i += 2 if c == "\\" else 1
                continue
            if c == "#" and token_start:
                break
            if c in "\"'" and token_start:
                self.quote = c
            elif c == "{":
                self.depth += 1
            elif c == "}":
                self.depth = max(0, self.depth - 1)
            token_start = c.isspace() or c in ";{}"
            i += 1
        if self.depth == 0 and not self.quote:
            body = s.split(" #", 1)[0].rstrip() if not s.startswith("#") else ""
            self.pending = bool(body) and not body.endswith((";", "{", "}"))

    def takes(self, s: str, raw: str) -> bool:
        """Whether a line at depth 0 still belongs to the dump."""
        if self.pending:
            return raw[:1].isspace() or s[:1] in "\"'$"
        if s.startswith("#") or s == "}":
            return True
        return _CONFIG_TAIL.search(s) is not None or _DIRECTIVE_OPEN.match(s) is not None
