"""Every regex the engine runs on pasted text stays linear in the text.

Each module-level pattern under bot/ runs (``finditer``, the most demanding use) over hostile
inputs of 16 KB and 64 KB: blank lines, whitespace runs, repeated separators and repeated
words the patterns look for. Linear work grows about 4x; quadratic work grows 16x. So the
check is the growth, not a time limit: a pattern fails when 64 KB costs more than 8x what
16 KB did (plus a small constant for timer noise). The quadratic patterns issue 13 found
(the limits.conf pattern on blank lines, the masking pattern on whitespace runs) fail it
before their fix. Times are this process's CPU time, so other jobs on a busy machine do not
count.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time

import pytest

import bot
from bot.lazy_re import compiled_pattern

# Reads nginx's own C sources when maintainers rebuild the catalogue; never pasted text.
NOT_USER_TEXT = ("bot.knowledge.catalog.csource",)

UNITS = [
    "\n", " ", "\t", " \n", "\r", "\r\n", "  \n", "a", "a ", "ab ", ":", "/", "=", ".", "-", "0", "1 ", "0.",
    "[", "{", "(", '"', "'", "#", "\\", "%", "*", ",", ";", "$", "@", "a@", "a:", "x=", "a=b; ",
    "systemctl show ", "nginx -", "nginx ", "ps ", "/proc/", "\n\n# x\n", "http://", "[::", "1.2.3.4 ", "%s",
    "${", "listen ", "* soft nofile ", "key=", '"a" ', "pass: ", "Bearer ", "-----BEGIN ",
]  # fmt: skip


def _patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        if info.name.endswith("__main__") or info.name.startswith(NOT_USER_TEXT):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            values = (
                value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
            )
            if isinstance(value, type) and value.__module__ == module.__name__:
                values = list(vars(value).values())
            for i, v in enumerate(values):
                for j, candidate in enumerate(v if isinstance(v, tuple) else (v,)):
                    p = compiled_pattern(candidate)  # module-level patterns are compiled on first use
                    if p is not None and isinstance(p.pattern, str):
                        found[f"{info.name}.{name}[{i}][{j}]"] = p
    return found


PATTERNS = _patterns()


def _cost(pattern: re.Pattern[str], text: str) -> float:
    start = time.process_time()
    for _ in pattern.finditer(text):
        pass
    pattern.match(text)
    return time.process_time() - start


def _text(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def test_the_scan_finds_the_patterns_issue_13_named():
    names = " ".join(PATTERNS)
    assert len(PATTERNS) > 200
    assert "bot.evidence.limits.conf_lines._LIMITS_CONF" in names
    assert "bot.matching.masking._SPACE_PUNCT" in names


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_work_grows_linearly_on_hostile_64k_input(name):
    pattern = PATTERNS[name]
    for unit in UNITS:
        small, large = _text(unit, 16 << 10), _text(unit, 64 << 10)
        for _attempt in range(3):  # a busy machine may stall one run; the growth must show every time
            t16, t64 = _cost(pattern, small), _cost(pattern, large)
            if t64 <= 8 * t16 + 0.02:
                break
        else:
            pytest.fail(f"{name} on {unit!r} repeated: 16 KB took {t16:.3f}s, 64 KB {t64:.3f}s (super-linear)")


def test_the_growth_check_catches_a_quadratic_pattern():
    quadratic = re.compile(r"^\s*[*@\w-]+\s+nofile", re.MULTILINE)  # the old limits.conf pattern
    small, large = _text("\n", 2 << 10), _text("\n", 8 << 10)  # smaller: 64 KB would take a minute
    t16, t64 = _cost(quadratic, small), _cost(quadratic, large)
    assert t64 > 8 * t16 + 0.02


def _growth(fn, small: str, large: str) -> tuple[float, float]:
    for _attempt in range(3):
        start = time.process_time()
        fn(small)
        t_small = time.process_time() - start
        start = time.process_time()
        fn(large)
        t_large = time.process_time() - start
        if t_large <= 8 * t_small + 0.02:
            break
    return t_small, t_large


def test_limits_conf_reader_on_40k_of_blank_lines_is_linear():
    from bot.evidence import limits_conf_lines

    t10, t40 = _growth(limits_conf_lines, "\n" * 10_000, "\n" * 40_000)  # took 18-21 s before the fix
    assert t40 <= 8 * t10 + 0.02, (t10, t40)


def test_masking_a_line_of_whitespace_is_linear():
    from bot.matching.masking import mask

    t2, t8 = _growth(mask, "a" + " " * 2_000 + "b", "a" + " " * 8_000 + "b")  # 0.4 s per 8 KB line before
    assert t8 <= 8 * t2 + 0.02, (t2, t8)
    assert mask("a  \t ( b") == "a(b"
