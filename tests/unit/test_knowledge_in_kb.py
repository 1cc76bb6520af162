"""Knowledge is data: no user-facing NGINX sentence in bot/ outside kb/ (bar the allowlist),
and every text the code says exists in kb/texts with the values its template names.

The first test is why operational advice lives where operators can correct it. The planted
fixture proves the scanner fails on a sentence of the kind it exists to catch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2.meta
import pytest

from bot.knowledge.templates import text_env
from bot.knowledge.texts import default_book
from tests.prose_scan import is_nginx_prose, load_allowlist, scan, strings, unexplained

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = ROOT / "tests" / "data" / "prose-allowlist.yaml"
PLANTED = ROOT / "tests" / "data" / "prose-scan"


def test_no_nginx_prose_in_python_outside_the_allowlist():
    found = scan(ROOT / "bot", ROOT)
    new, stale = unexplained(found, load_allowlist(ALLOWLIST))
    assert not new, "NGINX prose in Python; move it to kb/ (see kb/README.md) or allowlist it with a reason:\n" + (
        "\n".join(f"  {p.file}:{p.line}: {p.text[:120]!r}" for p in new)
    )
    assert not stale, "allowlist entries that match nothing any more (remove them):\n" + "\n".join(
        f"  {a.file}: {a.text[:100]!r}" for a in stale
    )


def test_the_scanner_fails_on_a_planted_sentence():
    found = scan(PLANTED, ROOT)
    assert [p.text for p in found] == [
        "Raise worker_connections to {} in the events block, then run nginx -t and reload nginx."
    ]
    assert found[0].file == "tests/data/prose-scan/planted.py" and found[0].line == 12
    new, _stale = unexplained(found, load_allowlist(ALLOWLIST))
    assert new == found  # the real allowlist does not excuse it: the check would fail


@pytest.mark.parametrize(
    ("text", "prose"),
    [
        ("then `systemctl daemon-reload && systemctl restart nginx`.", True),
        ("Each worker may open only {} files but worker_connections is {}", True),
        ("Paste lines from nginx's error.log (not access.log), e.g. `tail -n 200`", True),
        ("worker_connections {}", False),  # a label
        ("systemctl show nginx -p LimitNOFILE -p LimitNOFILESoft", False),  # a command
        (r"^(?:nginx: )?worker_connections\s+\d{1,10}", False),  # a regex
        ("Thanks for saying so. Paste more evidence and I will look again.", False),  # not about nginx
    ],
)
def test_what_counts_as_nginx_prose(text, prose):
    assert is_nginx_prose(text) is prose


def test_docstrings_and_field_descriptions_are_not_output():
    source = '"""Reload nginx with systemctl reload nginx after changing worker_connections."""\n' + (
        "x = Field(description='the nginx directive worker_connections, raised on every reload of nginx')\n"
    )
    assert list(strings(source)) == []


def test_allowlist_reasons_are_real_sentences(tmp_path):
    bad = tmp_path / "allow.yaml"
    bad.write_text("- {file: bot/x.py, text: hello, reason: ok}\n")
    with pytest.raises(ValueError, match="says too little"):
        load_allowlist(bad)


# --- every say() names a text that exists and passes what its template uses ---------------


def _literal_keys(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literal_keys(node.body) + _literal_keys(node.orelse)
    return []


def _say_calls() -> list[tuple[str, int, str, set[str] | None]]:
    """(file, line, text key, keyword names or None when **values are passed) of every say() call."""
    out = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args:
                names = {k.arg for k in node.keywords if k.arg}
                spread = any(k.arg is None for k in node.keywords)
                for key in _literal_keys(node.args[0]):
                    out.append((path.relative_to(ROOT).as_posix(), node.lineno, key, None if spread else names))
    return out


SAY_CALLS = _say_calls()


def test_say_calls_were_found():
    assert len(SAY_CALLS) > 150


@pytest.mark.parametrize(("file", "line", "key", "names"), SAY_CALLS, ids=[f"{c[2]}" for c in SAY_CALLS])
def test_every_say_names_a_text_and_its_values(file, line, key, names):
    book = default_book()
    assert key in book.texts, f"{file}:{line}: no text {key!r} in kb/texts"
    wanted = jinja2.meta.find_undeclared_variables(text_env().parse(book.texts[key]))
    if names is not None:
        assert wanted <= names, f"{file}:{line}: {key} needs {sorted(wanted - names)}"


def test_every_text_is_said_somewhere():
    said = {key for _f, _l, key, _n in SAY_CALLS}
    dynamic = {
        node.value
        for path in (ROOT / "bot").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    unused = [k for k in default_book().texts if k not in said and k not in dynamic]
    assert not unused, f"texts nothing says (remove them or use them): {unused}"


# --- ids come from the KB -------------------------------------------------------------------

ID_LITERALS_ALLOWED = {
    "bot/knowledge/loader.py": "REQUIRED_*_IDS: the ids DESIGN.md requires; checked, never dispatched on",
    "bot/evidence/sections/prompts.py": "`docker` there is a shell command in a pasted prompt, not the environment id",
    "bot/matching/syscall_errno.py": "`modsecurity` there is how a relayed log message starts, not the entry id",
}


def test_no_kb_id_decides_behaviour_in_python(kb):
    ids = set(kb.errors) | set(kb.findings) | set(kb.environments) | set(kb.recipes) | set(kb.guides)
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {text!r}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in ID_LITERALS_ALLOWED
        for line, text in strings(path.read_text(encoding="utf-8"))
        if text in ids
    ]
    assert not found, "KB ids as Python literals; declare the role in the YAML and read it:\n" + "\n".join(found)
