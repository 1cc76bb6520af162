"""Mutations that found the crash and hang classes of issue 13, plus plain random damage."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

UNICODE_DIGITS = "²³¹①②⑨፩፪٣۴७৩๓０１９𝟗"
SEPARATORS = [":", "/", "=", ";", ",", "#", "*", "-", ".", "|", "{", "}", "(", ")", "[", "]", '"', "'", "\\", "$", "%"]
_DIGIT_RUN = re.compile(r"[0-9]+")


def _huge_number(rng: random.Random) -> str:
    return rng.choice(["9" * rng.choice([19, 25, 40, 310, 4301]), "1" + "0" * 400, "-" + "9" * 30, "0" * 50])


def _replace_digits(text: str, rng: random.Random) -> str:
    runs = list(_DIGIT_RUN.finditer(text))
    if not runs:
        return text + rng.choice(UNICODE_DIGITS)
    m = rng.choice(runs)
    if rng.random() < 0.5:
        pos = rng.randrange(m.start(), m.end())
        return text[:pos] + rng.choice(UNICODE_DIGITS) + text[pos + 1 :]
    return text[: m.start()] + _huge_number(rng) + text[m.end() :]


def _include_bomb(rng: random.Random) -> str:
    n = rng.randint(2, 12)
    kind = rng.choice(["glob", "ring", "chain", "double"])
    out = ["# configuration file /etc/nginx/nginx.conf:", "events {}", "http { include /etc/nginx/c/0.conf; }", ""]
    if kind == "glob":
        out[2] = "http { include /etc/nginx/c/*.conf; }"
    for i in range(n):
        out.append(f"# configuration file /etc/nginx/c/{i}.conf:")
        if kind == "glob":
            out.append("include /etc/nginx/c/*.conf;")
        elif kind == "ring":
            out.append(f"include /etc/nginx/c/{(i + 1) % n}.conf;")
        elif kind == "chain":
            out.append(f"include /etc/nginx/c/{i + 1}.conf;")
        else:
            out.append(f"include /etc/nginx/c/{i + 1}.conf;\ninclude /etc/nginx/c/{i + 1}.conf;")
        out.append("")
    return "\n".join(out)


def _odd_header(rng: random.Random) -> str:
    path = rng.choice(
        ["/etc/nginx/" + "a/" * rng.randint(60, 1200) + "x.conf", "/etc/nginx/" + "b" * rng.randint(250, 600),
         "/etc/nginx", "/", "//", "/etc/nginx/../../x/", "relative/x.conf", "/etc/nginx/\x00x", "/etc/nginx/ü.conf"]
    )  # fmt: skip
    return f"# configuration file {path}:\nworker_processes 2;\n\n"


def _size(rng: random.Random, small: list[int], big: int) -> int:
    """Mostly small; one time in 40 the big size of the issue's hang classes (64 KB of blanks, ...)."""
    return big if rng.random() < 0.025 else rng.choice(small)


def _at(text: str, rng: random.Random, piece: str) -> str:
    pos = rng.randrange(len(text) + 1)
    return text[:pos] + piece + text[pos:]


def _cut(text: str, rng: random.Random) -> str:
    if not text:
        return text
    a = rng.randrange(len(text))
    return text[:a] + text[a + rng.randint(1, 200) :]


def _repeat(text: str, rng: random.Random) -> str:
    if not text:
        return text
    a = rng.randrange(len(text))
    return text[:a] + text[a : a + rng.randint(1, 200)] * rng.randint(2, 20) + text[a:]


def _shuffle(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    rng.shuffle(lines)
    return "\n".join(lines)


def _odd_value(rng: random.Random) -> str:
    key = rng.choice(["*  soft  nofile  ", "Max open files ", "worker_connections ", "listen "])
    value = _huge_number(rng) if rng.random() < 0.5 else rng.choice(UNICODE_DIGITS) * 3
    return key + value + rng.choice([";\n", "\n", " "])


_OPS: list[Callable[[str, random.Random], str]] = [
    _replace_digits,
    lambda t, r: _at(t, r, "\n" * _size(r, [1, 3, 100], 70000)),
    lambda t, r: _at(t, r, r.choice([" ", "\t", " \t"]) * _size(r, [10, 200], 20000)),
    lambda t, r: t.replace("\n", r.choice(["\r", "\r\n", "\n\r", "\r\r\n"])),
    lambda t, r: _at(t, r, r.choice(SEPARATORS) * _size(r, [2, 50, 400], 20000)),
    _cut,
    _repeat,
    lambda t, r: t[: r.randrange(len(t) + 1)],
    lambda t, r: _at(t, r, "".join(chr(r.randrange(1, 0x2FFFF)) for _ in range(r.randint(1, 40)))),
    lambda t, r: _include_bomb(r) + t,
    lambda t, r: _odd_header(r) + t,
    lambda t, r: t + "\n" + "{" * _size(r, [10, 70], 1100) + "\n" + "}" * r.randint(0, 100),
    lambda t, r: _replace_digits(_replace_digits(t, r), r),
    _shuffle,
    lambda t, r: t.upper() if r.random() < 0.5 else t.swapcase(),
    lambda t, r: _at(t, r, _odd_value(r)),
]


def mutate(text: str, rng: random.Random) -> str:
    """One to four random mutations of ``text``."""
    for _ in range(rng.randint(1, 4)):
        text = rng.choice(_OPS)(text, rng)
    return text


def random_text(rng: random.Random) -> str:
    """Input with no seed: printable soup, bytes-as-text, or pure separators."""
    n = rng.choice([0, 1, 10, 200, 2000])
    kind = rng.randrange(3)
    if kind == 0:
        return "".join(rng.choice("abc 0123456789:/;{}#\n\t[]()\"'=*.-") for _ in range(n))
    if kind == 1:
        return (
            "".join(chr(rng.randrange(0, 0x10FFFF)) for _ in range(n))
            .encode("utf-8", "replace")
            .decode("utf-8", "replace")
        )
    return rng.choice([*SEPARATORS, "\n", " ", "\r"]) * n


def make_input(seeds: dict[str, list[str]], rng: random.Random) -> str:
    """One fuzz input: a mutated line, a mutated paste, several lines, a splice, or random text."""
    r = rng.random()
    if r < 0.35:
        return mutate(rng.choice(seeds["line"]), rng)
    if r < 0.6:
        return mutate(rng.choice(seeds["text"]), rng)
    if r < 0.8:
        return mutate("\n".join(rng.choice(seeds["line"]) for _ in range(rng.randint(2, 30))), rng)
    if r < 0.92:
        return mutate(rng.choice(seeds["text"]) + "\n" + "\n".join(rng.sample(seeds["line"], 3)), rng)
    return random_text(rng)
