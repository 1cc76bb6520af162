"""The NGINX message catalogue: extraction from C source, patterns, data, lookup, speed.

The extractor is regenerated here from a small C module we wrote in nginx's calling style
(tests/data/catalog/src, not nginx source) and compared with its golden output; the data
committed in kb/catalog is rebuilt from its committed extraction and must be identical;
with NGINX_SOURCE_DIR pointing at a checkout of the pinned release, the whole extraction
is regenerated and compared too (skipped, with the reason, when it is not set).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from bot.cli.kb_lint import check_catalog_speed
from bot.evidence.errorlog import parse_line
from bot.knowledge.catalog import MESSAGES_FILE, SOURCE_FILE
from bot.knowledge.catalog.build import build_messages, docs_url, dumps, source_data
from bot.knowledge.catalog.csource import decode_c_string, resolve_formats, string_macros, tokenize
from bot.knowledge.catalog.extract import extract, read_tree
from bot.knowledge.catalog.lookup import Catalog, catalog_dir, load_catalog
from bot.knowledge.catalog.pattern import build, instance, pieces
from bot.knowledge.loader import KnowledgeBaseError
from tests.conftest import DATA

FIXTURE = DATA / "catalog"
CATALOG = catalog_dir()


def _committed(name: str) -> dict:
    return json.loads((CATALOG / name).read_text(encoding="utf-8"))


# -- extraction from C ---------------------------------------------------------------------


def test_fixture_slice_extracts_to_the_golden_output() -> None:
    extraction = extract(read_tree(FIXTURE))
    got = dumps(source_data(extraction, "fixture", "0" * 40))
    assert got == (FIXTURE / "expected-source.json").read_text(encoding="utf-8")


def test_fixture_golden_output_builds_to_the_golden_messages() -> None:
    source = json.loads((FIXTURE / "expected-source.json").read_text(encoding="utf-8"))
    assert dumps(build_messages(source)) == (FIXTURE / "expected-messages.json").read_text(encoding="utf-8")


def test_fixture_covers_every_calling_style() -> None:
    """What the golden file proves, spelled out: each construct gives the record it should."""
    records = {r.format: r for r in extract(read_tree(FIXTURE)).records}
    assert records['"fixture_path" directive is duplicate'].call == "return"
    assert records['fixture path "%V" is longer than %d characters, ignored'].level == "warn"  # 3 lines
    assert records['fopen() "%s" failed'].level == "runtime"  # level in a variable, format from a macro
    assert records['fopen() with lock "%V" failed'].level == "alert"  # macro of a macro, in #if/#else
    assert {"fixture kept %ui connections", "fixture closed %ui connections"} <= set(records)  # a ? b : c
    assert records['fixture could not write "%s"'].level == "alert"  # ngx_log_stderr "[alert] ..."
    assert records["fixture recv() failed"].call == "ngx_connection_error"
    assert records['"fixture" is enabled but no "fixture_path" is set'].directives == ["fixture", "fixture_path"]
    assert records['empty path in "%V" directive'].directives == ["fixture_path"]  # the handler's directive
    assert not [f for f in records if "fixture handler" in f or "served" in f or "too large" in f]  # debug/notice/info
    assert not [f for f in records if "in a comment" in f]
    assert extract(read_tree(FIXTURE)).skipped == 1  # a computed format cannot be catalogued


def test_c_strings_and_macros() -> None:
    assert decode_c_string(r'"a\"b\\c\x41\101\n"') == 'a"b\\cAA\n'
    macros = string_macros('#define X_n "open()"\n#define Y_n X_n " twice"\n#define F(a) "no"\n#define N 3\n')
    assert macros == {"X_n": '"open()"', "Y_n": 'X_n " twice"'}
    tokens = tuple(t for t in tokenize('Y_n " \\"%s\\" failed"') if not isinstance(t, str))
    assert resolve_formats(tokens, macros) == ['open() twice "%s" failed']


@pytest.mark.skipif(
    not os.environ.get("NGINX_SOURCE_DIR"),
    reason="NGINX_SOURCE_DIR is not set: point it at a checkout of the release named in kb/catalog/source.json "
    "to regenerate the whole catalogue from nginx source",
)
def test_full_nginx_tree_regenerates_the_committed_catalogue() -> None:
    root = Path(os.environ["NGINX_SOURCE_DIR"])
    committed = _committed(SOURCE_FILE)
    extraction = extract(read_tree(root))
    regenerated = source_data(extraction, committed["nginx"]["release"], committed["nginx"]["commit"])
    assert dumps(regenerated) == (CATALOG / SOURCE_FILE).read_text(encoding="utf-8")


# -- committed data ------------------------------------------------------------------------


def test_committed_messages_are_built_from_the_committed_extraction() -> None:
    rebuilt = dumps(build_messages(_committed(SOURCE_FILE)))
    assert rebuilt == (CATALOG / MESSAGES_FILE).read_text(encoding="utf-8")


def test_committed_catalogue_names_its_release_and_size() -> None:
    data = _committed(MESSAGES_FILE)
    assert data["nginx"]["release"].startswith("release-")
    assert re.fullmatch(r"[0-9a-f]{40}", data["nginx"]["commit"])
    assert data["messages_total"] == len(data["messages"]) > 1200
    assert sum(data["by_level"].values()) == data["messages_total"]
    assert {m["level"] for m in data["messages"]} <= {"emerg", "alert", "crit", "error", "warn", "runtime", "stderr"}


# -- patterns ------------------------------------------------------------------------------


def test_conversions_become_bounded_classes() -> None:
    assert [p.hole or p.text for p in pieces('x %ui.%03ui "%V" %*s %p %xd%% y')] == [
        "x ",
        "int",
        ".",
        "int",
        ' "',
        "str",
        '" ',
        "str",
        " ",
        "ptr",
        " ",
        "hex",
        "% y",
    ]
    pattern = build("connect() to %V failed (%d: %s) while %s")
    assert pattern is not None and pattern.regex.startswith("connect\\(\\) to ")
    assert "+" in pattern.regex or "?" in pattern.regex  # every hole is bounded, possessive or atomic-lazy
    assert not re.search(r"(?<!\\)[.\]\)][*+](?![+?])", pattern.regex.replace(".{0,", ""))
    assert build("%s failed") is None  # too generic to recognise anything
    assert build('"%V": %s') is None


def test_every_catalogue_pattern_finds_the_line_nginx_would_print() -> None:
    catalog = load_catalog()
    assert catalog is not None
    missed = []
    for message in catalog.messages:
        if not message.pattern:
            continue
        line = instance(message.format)
        hits = catalog.matches(line)
        if not hits or hits[0].literal_chars < message.literal_chars:
            missed.append(message.format)
    assert not missed, missed[:10]


def test_every_catalogue_pattern_is_linear_on_hostile_lines() -> None:
    catalog = load_catalog()
    assert catalog is not None
    start = time.perf_counter()
    assert check_catalog_speed(catalog) == []
    assert time.perf_counter() - start < 20, "the hostile-input check must stay a few seconds"


# -- lookup ----------------------------------------------------------------------------------


def test_lookup_prefers_nginx_text_over_strerror_text() -> None:
    catalog = load_catalog()
    assert catalog is not None
    hit = catalog.lookup("upstream timed out (110: Connection timed out) while reading response header from upstream")
    assert hit is not None and hit.format == "upstream timed out"
    resolved = catalog.lookup("api.local could not be resolved (3: Host not found)")
    assert resolved is not None and "could not be resolved (%i: %s)" in resolved.format


def test_lookup_uses_the_head_only_and_names_the_module() -> None:
    catalog = load_catalog()
    assert catalog is not None
    head = 'no resolver defined to resolve api.internal, client: 10.0.0.1, server: x, request: "GET / HTTP/1.1"'
    hit = catalog.lookup(head)
    assert hit is not None and hit.to_json()["level"] == "error"
    line = parse_line(
        "2024/01/01 00:00:00 [error] 1#1: *1 upstream sent too big header while reading response header from "
        'upstream, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000"'
    )
    known = catalog.lookup(line.message)
    assert known is not None and known.module_for(line.context.get("upstream")) in known.modules


def test_docs_url_for_core_and_module_directives() -> None:
    assert docs_url("worker_connections", "ngx_event_core_module") == (
        "https://nginx.org/en/docs/ngx_core_module.html#worker_connections"
    )
    assert docs_url("proxy_pass", "ngx_http_proxy_module").endswith("/http/ngx_http_proxy_module.html#proxy_pass")


def test_missing_catalogue_is_none_and_a_broken_one_is_a_clear_error(tmp_path: Path) -> None:
    assert load_catalog(tmp_path) is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MESSAGES_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="cannot read the message catalogue"):
        load_catalog(broken)
    other = tmp_path / "shape"
    other.mkdir()
    (other / MESSAGES_FILE).write_text('{"messages": [{"id": 1}]}', encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not a message catalogue"):
        load_catalog(other)


def test_empty_catalogue_matches_nothing() -> None:
    assert Catalog({"messages": []}).lookup("anything at all failed") is None
