"""KB templates render from their tree exactly as Jinja2 renders them (``bot.knowledge.template_tree``).

A short ``diagnose`` renders a few dozen KB texts; importing Jinja2 for them cost as much as
the diagnosis. The tree renders them without it, and must never say anything Jinja2 would
not: every template in the knowledge base is rendered both ways with many generated values
(numbers, text, None, lists, nested facts, missing ones), and wherever Jinja2 raises, the
tree must have handed the template back (``Fallback``) rather than answer.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import jinja2
import jinja2.meta
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import nodes
from jinja2.parser import Parser

from bot.knowledge import template_tree, templates
from bot.knowledge.kb_links import _templates
from bot.knowledge.template_translate import expression_tree
from bot.knowledge.template_translate import template_tree as translate
from bot.knowledge.template_tree import Fallback, evaluate, render

STRICT = templates.text_env()
FORGIVING = templates.fix_env()


def _kb_sources(kb: Any) -> list[tuple[str, str, str]]:
    """(where, flavour, source) for every template and expression in the knowledge base."""
    out = [(f"{key}:{loc}", "expr" if expression else "text", text) for key, loc, text, expression in _templates(kb)]
    out += [(f"errors/{eid}:fix", "fix", entry.fix) for eid, entry in kb.errors.items() if entry.fix]
    return [item for item in out if item[2]]


def _parse(flavour: str, source: str) -> nodes.Node:
    if flavour == "expr":
        return Parser(STRICT, source, state="variable").parse_expression()
    return (FORGIVING if flavour == "fix" else STRICT).parse(source)


def _tree(flavour: str, source: str) -> Any:
    if flavour == "expr":
        return expression_tree(_parse(flavour, source))
    return translate(FORGIVING if flavour == "fix" else STRICT, source)


def _jinja(flavour: str, source: str, values: dict[str, Any]) -> Any:
    if flavour == "expr":
        return STRICT.compile_expression(source, undefined_to_none=False)(**values)
    return (FORGIVING if flavour == "fix" else STRICT).from_string(source).render(values)


def _fast(flavour: str, tree: Any, values: dict[str, Any]) -> Any:
    if flavour == "expr":
        return evaluate(tree, values)
    return render(tree, values, strict=flavour != "fix")


def _names_and_attributes(flavour: str, source: str) -> tuple[list[str], list[str]]:
    ast = _parse(flavour, source)
    if flavour == "expr":
        names = sorted({n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"})
    else:
        names = sorted(jinja2.meta.find_undeclared_variables(ast))
    attributes = sorted({n.attr for n in ast.find_all(nodes.Getattr)} | {"x", "path", "name"})
    return names, attributes


def _same(flavour: str, source: str, tree: Any, values: dict[str, Any]) -> str:
    """Render both ways; returns what happened (for the coverage count)."""
    try:
        expected = _jinja(flavour, source, values)
        jinja_raised = None
    except Exception as exc:  # Jinja2 refuses: the tree must not answer
        expected, jinja_raised = None, exc
    try:
        got = _fast(flavour, tree, values)
    except Fallback:
        return "fallback"
    assert jinja_raised is None, f"{source!r} with {values!r}: Jinja2 raised {jinja_raised!r}, the tree said {got!r}"
    if isinstance(expected, jinja2.Undefined):
        pytest.fail(f"{source!r} with {values!r}: Jinja2 gave an undefined, the tree {got!r}")
    assert got == expected and type(got) is type(expected), f"{source!r} with {values!r}: {got!r} != {expected!r}"
    return "same"


def test_nearly_every_kb_template_has_a_tree(kb) -> None:
    sources = _kb_sources(kb)
    missing = [(where, source[:60]) for where, flavour, source in sources if _tree(flavour, source) is None]
    assert len(sources) > 700
    assert len(missing) <= 0.02 * len(sources), missing


SCALARS = [
    0,
    1,
    2,
    3,
    7,
    64,
    1024,
    4096,
    0.5,
    2.5,
    -1,
    "",
    "a",
    "x.sock",
    "Ab Cd",
    "512k",
    "10.0.0.1:80",
    None,
    True,
    False,
]


def _value_sets(names: list[str], attributes: list[str]) -> list[dict[str, Any]]:
    """Deterministic values of every shape for ``names``: scalars, lists, facts-like dicts."""
    shapes: list[Any] = [*SCALARS, [], [1, 2, 3], ["b", "A", "c"], {}]
    nested = {attr: SCALARS[i % len(SCALARS)] for i, attr in enumerate(attributes)}
    shapes += [nested, {attr: [nested] for attr in attributes}, [nested, {}]]
    sets = []
    for shift in range(len(shapes)):
        sets.append({name: shapes[(i + shift) % len(shapes)] for i, name in enumerate(names)})
        sets.append({name: shapes[(i * 7 + shift) % len(shapes)] for i, name in enumerate(names) if (i + shift) % 3})
    return sets


def test_every_kb_template_renders_as_jinja_renders_it(kb) -> None:
    outcomes = {"same": 0, "fallback": 0}
    for _where, flavour, source in _kb_sources(kb):
        tree = _tree(flavour, source)
        if tree is None:
            continue
        names, attributes = _names_and_attributes(flavour, source)
        for values in _value_sets(names, attributes):
            outcomes[_same(flavour, source, tree, values)] += 1
    assert outcomes["same"] > 10_000, outcomes
    assert outcomes["same"] > outcomes["fallback"], outcomes


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(-10, 10, allow_nan=False),
    st.text("ab xyz.:/_{}%", max_size=6),
)


@st.composite
def _values_for(draw: st.DrawFn, names: list[str], attributes: list[str]) -> dict[str, Any]:
    keys = st.sampled_from(attributes)
    value = st.recursive(
        _leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=8,
    )
    return {name: draw(value) for name in names if draw(st.integers(0, 5))}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_values_render_as_jinja_renders_them(kb, data: st.DataObject) -> None:
    sources = [s for s in _kb_sources(kb) if not s[2].isidentifier()]
    _where, flavour, source = data.draw(st.sampled_from(sources))
    tree = _tree(flavour, source)
    if tree is None:
        return
    values = data.draw(_values_for(*_names_and_attributes(flavour, source)))
    _same(flavour, source, tree, values)


CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "text",
        "{% for x in xs %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %}, {% endif %}{% endfor %}",
        {"xs": "abc"},
    ),
    (
        "text",
        "{% for x in xs if x %}{{ loop.index0 }}{{ loop.revindex }}{{ x }}{% else %}none{% endfor %}",
        {"xs": [0, 2, 0, 3]},
    ),
    ("text", "{% for x in xs %}{{ x }}{% else %}none{% endfor %}", {"xs": []}),
    ("text", "{% for a, b in xs %}{{ a }}={{ b }};{% endfor %}", {"xs": [("p", 1), ("q", 2)]}),
    ("text", "{% set n = a * 2 %}{% if n > 3 %}big {{ n }}{% elif n %}small{% else %}zero{% endif %}", {"a": 2}),
    ("text", "{{ '%s' ~ a ~ none }} {{ [a, 3] | max }} {{ ['b', 'A'] | max }} {{ ['b', 'A'] | max(true) }}", {"a": 1}),
    (
        "text",
        "{{ '42.9' | int }} {{ 'x' | int(7) }} {{ '0x1f' | int(0, 16) }} "
        "{{ 2.6 | round }} {{ 2.61 | round(1, 'ceil') }}",
        {},
    ),
    (
        "text",
        "{{ d.k }} {{ d['k'] }} {{ d.get('k') }} {{ d.items() | list }} {{ s.startswith('a') }} {{ s[1:] }}",
        {"d": {"k": 1}, "s": "abc"},
    ),
    (
        "text",
        "{{ xs | map(attribute='n', default='-') | join(', ') }} {{ xs | selectattr('n', 'none') | list | length }}",
        {"xs": [{"n": 1}, {"n": None}]},
    ),
    ("fix", "{{ facts.xs | map(attribute='n', default='-') | join(', ') }}", {"facts": {"xs": [{"n": 1}, {}]}}),
    (
        "text",
        "{{ xs | join(', ', attribute='n') }} {{ 3 | plural('line') }} {{ 0.25 | fmt('.0%') }}",
        {"xs": [{"n": 1}, {"n": 2}]},
    ),
    (
        "text",
        "{{ a if b else c }} {{ not a }} {{ a and b or c }} {{ -a }} {{ a // 2 }} {{ a % 2 }} {{ a ** 2 }}",
        {"a": 5, "b": 0, "c": "c"},
    ),
    (
        "text",
        "{{ 1 < a <= 5 }} {{ 'x' in s }} {{ 'y' not in s }} {{ a is none }} {{ s is string }}",
        {"a": 5, "s": "xy"},
    ),
    (
        "fix",
        "{{ facts.socket.path }}|{{ facts.socket or 'the socket' }}|"
        "{{ facts.port | default('80') }}|{{ facts.x is defined }}",
        {"facts": {}},
    ),
    (
        "fix",
        "{% if facts.a %}a{% endif %}{{ sizing.n is undefined }}{{ facts.b is none }}{{ missing }}",
        {"facts": {}, "sizing": {}},
    ),
    ("fix", "{{ ('' | default('empty', true)) }} {{ (facts.z | default('z')).upper() }}", {"facts": {}}),
]


@pytest.mark.parametrize(("flavour", "source", "values"), CASES)
def test_each_construct_renders_as_jinja_renders_it(flavour: str, source: str, values: dict[str, Any]) -> None:
    tree = _tree(flavour, source)
    assert tree is not None
    assert _same(flavour, source, tree, values) == "same"


FALLBACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("text", "{{ missing }}", {}),  # strict: Jinja2 raises UndefinedError, with the name
    ("text", "{{ o.__class__ }}", {"o": 1}),  # the sandbox guards it
    ("text", "{{ f.__name__ }}", {"f": len}),
    ("text", "{{ '{0}'.format(a) }}", {"a": 1}),  # the sandbox formats it
    ("text", "{{ xs | map(attribute='n') }}", {"xs": []}),  # Jinja2 writes its generator's address
    ("text", "{{ [] | max }}", {}),  # an undefined with a reason
    ("text", "{{ a / b }}", {"a": 1, "b": 0}),
    ("text", "{{ c(1) }}", {"c": dict}),  # not a plain function
    ("fix", "{{ facts.n > 3 }}", {"facts": {}}),  # a comparison with an undefined
    ("fix", "{% for x in facts.xs %}{{ x }}{% endfor %}", {"facts": {}}),
]


@pytest.mark.parametrize(("flavour", "source", "values"), FALLBACKS)
def test_what_the_tree_cannot_be_sure_of_goes_to_jinja(flavour: str, source: str, values: dict[str, Any]) -> None:
    tree = _tree(flavour, source)
    assert tree is not None
    assert _same(flavour, source, tree, values) == "fallback"


@pytest.mark.parametrize(
    "source",
    [
        "{% macro m() %}x{% endmacro %}{{ m() }}",
        "{% for x in xs %}{% set y = x %}{% endfor %}",  # set inside a loop has Jinja2's own scoping
        "{% for x in xs recursive %}{{ loop(x) }}{% endfor %}",
        "{% for x in xs %}{{ loop.cycle('a', 'b') }}{% endfor %}",
        "{{ x | tojson }}",
        "{{ x is divisibleby 3 }}",
        "{% filter upper %}x{% endfilter %}",
        "{{ range(3) | list }}x{% include 'y' %}",
    ],
)
def test_templates_outside_the_subset_have_no_tree(source: str) -> None:
    assert translate(STRICT, source) is None


def test_a_broken_template_has_no_tree_and_jinja_says_what_is_wrong() -> None:
    assert translate(STRICT, "{% if %}") is None
    with pytest.raises(jinja2.TemplateSyntaxError):
        templates.render_text("{% if %}", {})


def test_render_text_and_evaluate_use_the_tree_and_fall_back_to_jinja() -> None:
    assert templates.render_text("{% if a %}{{ a | plural('slot') }}{% endif %}", {"a": 2}) == "2 slots"
    assert templates.evaluate("[a, 3] | max", {"a": 5}) == 5
    with pytest.raises(jinja2.UndefinedError):
        templates.render_text("{% if a %}x{% endif %}", {})
    assert templates.render_fix_text("{{ facts.port or 'the port' }}", {"facts": {}}) == "the port"


def test_check_mode_raises_when_the_tree_and_jinja_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(templates.CHECK_ENV, "1")
    templates._checking.cache_clear()
    monkeypatch.setattr(template_tree, "render", lambda tree, values, strict: "something else")
    try:
        with pytest.raises(AssertionError, match="differ"):
            templates.render_text("{% if a %}yes{% endif %}", {"a": 1})
    finally:
        templates._checking.cache_clear()


def test_a_run_with_the_trees_cached_renders_without_jinja(tmp_path) -> None:
    """The second process finds every tree in the user's cache and never imports Jinja2."""
    code = (
        "import sys\n"
        "from bot.knowledge.templates import render_text, evaluate, render_fix_text\n"
        "loop = '{% for x in xs %}{{ x }}{% if not loop.last %}, {% endif %}{% endfor %}'\n"
        "out = [render_text(loop, {'xs': [1, 2]}),\n"
        "       str(evaluate('[a, 2] | max', {'a': 1})), render_fix_text('{{ facts.p or \"-\" }}', {'facts': {}})]\n"
        "print(out, 'jinja2' in sys.modules)\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.strip() == "['1, 2', '2', '-'] True"  # the first one made the trees
    assert runs[1].stdout.strip() == "['1, 2', '2', '-'] False"
