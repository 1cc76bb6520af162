"""``include`` globs match as glob(3) does, in linear time (``bot.evidence.nginx_config.glob_match``).

A fuzzed dump whose include pattern held fifty ``*`` took 5 s in one regex match (a
backtracking ``[^/]*[^/]*...``); the matcher now advances a set of pattern positions one
character at a time. Work is counted (steps), not timed.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.evidence.nginx_config.glob_match import compile_glob
from bot.evidence.nginx_config.parse import parse_dump


def _as_regex(pattern: str) -> re.Pattern[str]:
    """The reference: glob(3) as a regex (fine for patterns with few stars)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and (close := pattern.find("]", i + 2)) >= 0:
            body = pattern[i + 1 : close]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


PIECES = st.sampled_from(["*", "?", "a", "b", ".", "/", "conf", "[ab]", "[!a]", "[]a]", "-", "0"])
NAMES = st.text(alphabet="ab./conf0-]", max_size=14)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=6), NAMES)
def test_it_answers_as_the_glob_regex_does(pieces: list[str], name: str) -> None:
    pattern = "".join(pieces)
    assert compile_glob(pattern).match(name) == bool(_as_regex(pattern).match(name)), (pattern, name)


def test_real_include_patterns() -> None:
    conf = compile_glob("/etc/nginx/conf.d/*.conf")
    assert conf.match("/etc/nginx/conf.d/default.conf")
    assert not conf.match("/etc/nginx/conf.d/sub/x.conf")  # "*" never crosses "/"
    assert not conf.match("/etc/nginx/conf.d/default.conf.bak")
    assert compile_glob("/etc/nginx/sites-enabled/*").match("/etc/nginx/sites-enabled/shop")
    assert compile_glob("/etc/nginx/snippets/ssl-[!x]*.conf").match("/etc/nginx/snippets/ssl-params.conf")
    assert compile_glob("/etc/nginx/[z-a].conf").match("/etc/nginx/[z-a].conf")  # unreadable class: literal


def test_many_stars_are_one_star_and_cost_linear_steps() -> None:
    assert compile_glob("/c/" + "*" * 50 + ".conf").tokens == compile_glob("/c/*.conf").tokens
    # *a*a*a...*b against a run of a's: exponential for a backtracking regex, bounded here
    # by the tokens live at once (each star and its follower), whatever the name's length.
    glob = compile_glob("*a" * 40 + "*b")
    assert not glob.match("a" * 5000)
    assert glob.match("a" * 100 + "b")


def test_the_fuzzed_dump_with_fifty_stars_resolves_its_includes() -> None:
    files = {"/etc/nginx/nginx.conf": "events {}\r\nhttp { include /etc/nginx/c/*.conf; }\r\n"}
    files |= {f"/etc/nginx/c/{n}.conf": "include /etc/nginx/c/*.conf;\r\n" for n in range(12)}
    files["/etc/nginx/c/8.conf"] = "include /etc/nginx/c/" + "*" * 51 + ".conf;\r\n"
    dump = "".join(f"# configuration file {path}:\r\n{body}\r\n" for path, body in files.items())
    config = parse_dump(dump)
    assert sum("include loop" in e.message for e in config.errors) == 1
    assert len(config.directives) <= 3 + 12 + 12


def test_random_long_patterns_never_blow_up() -> None:
    rng = random.Random(11)
    for _ in range(200):
        pattern = "".join(rng.choice(["*", "?", "a", "/", "[ab]"]) for _ in range(rng.randint(20, 80)))
        name = "".join(rng.choice("ab/") for _ in range(rng.randint(20, 300)))
        compile_glob(pattern).match(name)  # each call is at most 80 x 300 position steps
