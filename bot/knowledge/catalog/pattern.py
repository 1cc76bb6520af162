"""Turn an nginx format string into a linear-time regular expression.

nginx formats (``ngx_vslprintf``) are literal text with conversions: ``%V %v %s %*s``
(strings), ``%d %i %ui %O %z %P %T %M %uA %l %D %L %r`` (numbers), ``%xd``/``%Xd``
(hex), ``%p`` (pointer), ``%f`` (float), ``%c`` (one char), ``%N %Z`` (newline, NUL),
``%%``. Each conversion becomes a bounded class; the rules keep every search linear:

* Holes at the start or end are dropped: lines are searched, so they add nothing but cost.
* A number is ``\\d{1,20}`` (possessive unless a digit follows it).
* A string followed by a quote is ``[^"]{0,2048}+`` (values nginx quotes do not contain it).
* Any other string hole runs lazily to the first occurrence of the next literal inside an
  atomic group, ``(?>.{0,2048}?NEXT)``: at most one way to match per start, never a retry.
  It also stops where the pattern's first literal occurs again (``(?:(?!FIRST).)``), so a
  line that repeats that literal is scanned once, not once per repetition.

nginx caps a whole line at 2048 bytes (``NGX_MAX_ERROR_STR``), so the bounds lose nothing.
A format with too little literal text (``%s failed``, ``"%V": %s``) would match anything:
it gets no pattern (``None``) and stays in the catalogue as a record only.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.lazy_re import lazy_compile

STRING_BOUND = 2048
MIN_LETTERS = 10
"""Letters a format's literal text needs before it is specific enough to match lines."""
MIN_ANCHOR_LETTERS = 5
"""Letters its longest literal piece (the index anchor) needs."""

_CONVERSION = lazy_compile(r"%0?\d*(?:[umXx*]|\.\d*)*([VvsOPTMzidlDLAfrpcZN%]?)")
_NUMERIC = frozenset("OPTMzidlDLAr")


@dataclass(frozen=True)
class Piece:
    """A literal run of text (``hole`` empty) or a conversion (``text`` empty)."""

    text: str = ""
    hole: str = ""  # "str", "int", "hex", "float", "ptr", "char"


@dataclass(frozen=True)
class Pattern:
    """The regex of one format, its index anchor and how many literal characters it pins."""

    regex: str
    anchor: str
    literal_chars: int


def pieces(fmt: str) -> list[Piece]:
    """Split a format into literals and holes, merged so that no two of a kind touch."""
    out: list[Piece] = []

    def add(piece: Piece) -> None:
        if out and piece.text and out[-1].text:
            out[-1] = Piece(text=out[-1].text + piece.text)
        elif out and piece.hole and out[-1].hole:
            kind = out[-1].hole if out[-1].hole == piece.hole and piece.hole != "char" else "str"
            out[-1] = Piece(hole=kind)
        else:
            out.append(piece)

    pos = 0
    for m in _CONVERSION.finditer(fmt):
        if m.start() > pos:
            add(Piece(text=fmt[pos : m.start()]))
        pos = m.end()
        kind = m.group(1)
        spec = m.group(0)
        if kind == "%":
            add(Piece(text="%"))
        elif kind in ("N", "Z", ""):
            continue  # newline/NUL, or a "%" with an unknown letter: nothing printable to pin
        elif kind in "Vvs":
            add(Piece(hole="hex" if "x" in spec.lower() else "str"))
        elif kind == "p":
            add(Piece(hole="ptr"))
        elif kind == "f":
            add(Piece(hole="float"))
        elif kind == "c":
            add(Piece(hole="char"))
        else:
            assert kind in _NUMERIC
            add(Piece(hole="hex" if "x" in spec.lower() else "int"))
    if pos < len(fmt):
        add(Piece(text=fmt[pos:]))
    return out


def _hole(kind: str, following: str) -> str:
    """Regex of one hole in the middle of a pattern, given the literal that follows it."""
    digit_next = following[:1].isdigit()
    possessive = "" if digit_next else "+"
    if kind == "int":
        return rf"[+-]?\d{{1,20}}{possessive}"
    if kind == "hex":
        return rf"[0-9a-f]{{1,64}}{'' if following[:1] in '0123456789abcdefABCDEF' else '+'}"
    if kind == "ptr":
        return r"(?:0x)?[0-9a-f]{1,16}"
    if kind == "float":
        return r"[+-]?\d{1,20}(?:\.\d{1,20})?"
    if kind == "char":
        return r"[\s\S]"
    quote = following[:1]
    if quote in ('"', "'"):
        return rf"[^{quote}\n]{{0,{STRING_BOUND}}}+"
    return ""  # a lazy string: built together with the literal that follows


_SPECIAL = frozenset(".^$*+?{}[]\\|()")


def escape(text: str) -> str:
    """``re.escape`` for regex metacharacters only: spaces and quotes stay readable."""
    return "".join(f"\\{ch}" if ch in _SPECIAL else ch for ch in text)


def instance(fmt: str) -> str:
    """A line nginx could print with this format: every hole filled with a plain value."""
    fill = {"str": "x", "int": "1", "hex": "1f", "float": "1.0", "ptr": "0000000000000001", "char": "x"}
    return "".join(p.text or fill[p.hole] for p in pieces(fmt))


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def build(fmt: str) -> Pattern | None:
    """The linear regex (case-insensitive) for a format, or None when it is too generic."""
    parts = pieces(fmt)
    while parts and parts[0].hole:
        parts.pop(0)
    while parts and parts[-1].hole:
        parts.pop()
    literals = [p.text for p in parts if p.text]
    if not literals or _letters("".join(literals)) < MIN_LETTERS:
        return None
    anchor = max(literals, key=lambda t: (_letters(t), len(t)))
    if _letters(anchor) < MIN_ANCHOR_LETTERS:
        return None
    first = parts[0].text
    char = f"(?:(?!{escape(first)}).)" if len(first.strip()) >= 3 else "."
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part.text:
            out.append(escape(part.text))
            i += 1
            continue
        following = parts[i + 1].text  # holes never end the list and never touch
        hole = _hole(part.hole, following)
        if hole:
            out.append(hole)
            i += 1
        else:
            out.append(f"(?>{char}{{0,{STRING_BOUND}}}?{escape(following)})")
            i += 2
    return Pattern("".join(out), anchor.lower(), sum(len(t) for t in literals))
