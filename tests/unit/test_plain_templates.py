"""Plain texts render without Jinja2 exactly as Jinja2 renders them (``bot.knowledge.templates``).

A text whose only markup is ``{{ name }}`` is rendered by substitution so that a short
``diagnose`` or ``ask`` need not import Jinja2. Every such template in the knowledge base
is rendered both ways here, with values of every type the engine passes (text with braces,
numbers, None, booleans, lists), and must come out identical.
"""

from __future__ import annotations

import pytest

from bot.knowledge.kb_links import _templates
from bot.knowledge.templates import plain_parts, render_text, text_template

VALUES = ["a {x} }} 100%", 1024, 0.5, 2.0, None, True, ["a", "b"], "line\nnext", ""]


def _plain_templates(kb) -> list[tuple[str, str]]:
    return [
        (f"{key}:{'.'.join(map(str, loc))}", text)
        for key, loc, text, expression in _templates(kb)
        if not expression and plain_parts(text) is not None
    ]


def test_most_texts_are_plain(kb) -> None:
    plain, every = _plain_templates(kb), [t for t in _templates(kb) if not t[3]]
    assert len(plain) > 0.4 * len(every), f"only {len(plain)} of {len(every)} texts are plain"


def test_every_plain_text_renders_as_jinja_renders_it(kb) -> None:
    checked = 0
    for where, text in _plain_templates(kb):
        names = [name for _, name in plain_parts(text) or () if name]
        for shift in range(len(VALUES)):
            values = {name: VALUES[(i + shift) % len(VALUES)] for i, name in enumerate(names)}
            assert render_text(text, values) == text_template(text).render(values), where
            checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    "source",
    [
        "{{ n | plural('line') }}",  # a filter
        "{% if a %}x{% endif %}",  # a tag
        "{# note #}{{ a }}",  # a comment
        "{{ a.b }}",  # an attribute
        "{{ none }}",  # a constant, not a name
        "a\r\nb {{ a }}",  # Jinja rewrites line ends
        "{{ a }} {{ 'x' }}",  # a literal
    ],
)
def test_anything_but_names_goes_to_jinja(source: str) -> None:
    assert plain_parts(source) is None


def test_a_missing_value_still_raises_as_jinja_does() -> None:
    from jinja2.exceptions import UndefinedError

    with pytest.raises(UndefinedError):
        render_text("usable slots = {{ wc }}", {})


def test_spacing_inside_the_braces_and_a_final_newline_are_kept() -> None:
    assert render_text("{{wc}} / {{  per  }}\n", {"wc": 1024, "per": 2}) == "1024 / 2\n"
