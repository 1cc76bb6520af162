"""The homes knowledge moved into (kb/findings, kb/recipes, kb/guides, kb/texts, environment
roles): broken files fail at load with file, line and field; cross-file mistakes fail
`kb lint` with file and line; and new knowledge needs YAML, not Python."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.plan import detect_environment
from bot.knowledge.kb_links import check_links
from bot.knowledge.loader import KnowledgeBaseError, builtin_kb_dir, load_kb, load_texts
from bot.knowledge.texts import TextBook
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "worker-connections"


def _copy(tmp_path: Path, *rel: str) -> Path:
    dst = tmp_path / "kb"
    for name in rel:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(builtin_kb_dir() / name, dst / name)
    return dst


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("rel", "old", "new", "field"),
    [
        ("findings/proxy-loop.yaml", "severity: critical", "severity: apocalyptic", "severity"),
        ("recipes/raise-worker-limits.yaml", "    block: events", "    block: nowhere", "changes.0.block"),
        ("texts/plan.yaml", "  purpose_restart:", "  Purpose-Restart:", "texts"),
        ("environments/docker.yaml", "specificity: 30", "specificity: high", "specificity"),
        ("errors/setrlimit-failed.yaml", "  master_is_root: {value: false}", "  master_is_root: {}", "sizing"),
    ],
)
def test_a_broken_file_names_file_line_and_field(tmp_path, rel, old, new, field):
    d = _copy(tmp_path, rel)
    f = d / rel
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError) as exc:
        load_kb([d])
    message = str(exc.value)
    assert f"{f}:" in message and f": {field}" in message, message
    if field != "texts":
        assert f"{f}:{_line_of(f.read_text(), new.strip())}: {field}" in message, message


def test_a_guide_whose_last_variant_is_conditional_is_refused(tmp_path):
    d = _copy(tmp_path, "guides/worker-limits-guide.yaml")
    f = d / "guides" / "worker-limits-guide.yaml"
    fallback = "      - title: Reload nginx\n"
    f.write_text(f.read_text().replace(fallback, "      - when: d.diff\n        title: Reload nginx\n"))
    with pytest.raises(KnowledgeBaseError, match="step reload: the last variant must have no `when`"):
        load_kb([d])


def test_lint_names_unknown_ids_defaults_and_template_errors(kb):
    recipe = kb.recipes["raise-worker-limits"].model_copy(update={"guide": "no-such-guide"})
    env = kb.environments["docker"].model_copy(update={"default": True})
    texts = dict(kb.texts)
    texts["plan"] = texts["plan"].model_copy(
        update={"texts": {**texts["plan"].texts, "purpose_restart": "restart {% if x %}nginx"}}
    )
    broken = dataclasses.replace(
        kb,
        recipes={**kb.recipes, "raise-worker-limits": recipe},
        environments={**kb.environments, "docker": env},
        texts=texts,
    )
    problems = "\n".join(check_links(broken))
    recipe_file = kb.sources["recipes/raise-worker-limits"]
    assert (
        f"{recipe_file}:{_line_of(recipe_file.read_text(), 'guide: worker-limits-guide')}: guide: unknown guide"
        in problems
    )
    assert "kb/environments: exactly one entry must say `default: true`, found ['docker', 'systemd-host']" in problems
    plan_file = kb.sources["texts/plan"]
    line = _line_of(plan_file.read_text(), "purpose_restart:")
    assert f"{plan_file}:{line}: texts.purpose_restart: Jinja2 syntax" in problems
    assert check_links(kb) == []


def test_environment_detection_reads_specificity_and_default(kb):
    assert detect_environment(kb, ["docker compose logs web", "docker ps"])[0] == "docker-compose"
    plain = {k: e.model_copy(update={"specificity": 0}) for k, e in kb.environments.items()}
    tie = dataclasses.replace(kb, environments=plain)
    assert detect_environment(tie, ["docker compose logs web", "docker ps"])[0] == "docker"  # then by id
    assert detect_environment(kb, ["nothing telling"]) == ("systemd-host", False)
    moved = {k: e.model_copy(update={"default": k == "plain-host"}) for k, e in kb.environments.items()}
    assert detect_environment(dataclasses.replace(kb, environments=moved), ["nothing"]) == ("plain-host", False)


def test_an_extra_dir_rewords_one_text_and_keeps_the_rest(tmp_path):
    extra = tmp_path / "extra" / "texts"
    extra.mkdir(parents=True)
    (extra / "plan.yaml").write_text('id: plan\ntexts:\n  purpose_restart: "restart nginx (our runbook: RB-12)"\n')
    book = TextBook(load_texts([builtin_kb_dir(), tmp_path / "extra"]).values())
    assert book.say("plan.purpose_restart") == "restart nginx (our runbook: RB-12)"
    assert book.say("plan.purpose_reload").startswith("reload: new workers")


def test_flat_extra_dir_sorts_new_kinds_by_their_keys(tmp_path, monkeypatch):
    flat = tmp_path / "flat"
    flat.mkdir()
    for rel in (
        "findings/proxy-loop.yaml",
        "recipes/raise-worker-limits.yaml",
        "guides/worker-limits-guide.yaml",
        "texts/diff.yaml",
    ):
        shutil.copy(builtin_kb_dir() / rel, flat / Path(rel).name)
    monkeypatch.setenv("KB_EXTRA_DIR", str(flat))
    kb = load_kb()
    for key in ("findings/proxy-loop", "recipes/raise-worker-limits", "guides/worker-limits-guide", "texts/diff"):
        assert kb.sources[key].parent == flat, key


# --- a new fix is YAML, not Python --------------------------------------------------------

EVENTS_RECIPE = """\
id: events-accept
title: Accept every pending connection at once (a test recipe)
changes:
  - directive: multi_accept
    block: events
    value: "'on'"
    current: none
    when: recommended_worker_connections > worker_connections_current
    why: "a worker that wakes up accepts all {{ target_concurrency }} waiting clients, not one"
verify:
  - command: worker_pids
    purpose: "verify: the new workers are running"
"""


def kb_with_events_recipe(tmp_path: Path) -> Path:
    """An extra KB dir: the recipe above, fed by worker-connections-not-enough."""
    extra = tmp_path / "extra"
    (extra / "recipes").mkdir(parents=True)
    (extra / "errors").mkdir()
    (extra / "recipes" / "events-accept.yaml").write_text(EVENTS_RECIPE)
    entry = (builtin_kb_dir() / "errors" / "worker-connections-not-enough.yaml").read_text()
    assert "recipes: [raise-worker-limits]" in entry
    (extra / "errors" / "worker-connections-not-enough.yaml").write_text(
        entry.replace("recipes: [raise-worker-limits]", "recipes: [raise-worker-limits, events-accept]")
    )
    return extra


def test_a_new_recipe_is_yaml_only(tmp_path, matcher):
    kb = load_kb([builtin_kb_dir(), kb_with_events_recipe(tmp_path)])
    ev = Collected()
    for name in ("error.log", "nginx-T.txt", "worker-limits.txt"):
        ev.add_text((EXAMPLE / name).read_text(), matcher, name)
    d = diagnose_evidence(ev, kb, 40)
    recs = {r.directive: r for r in d.recommendations}
    accept = recs["multi_accept"]
    assert (accept.context, accept.current, accept.recommended) == ("events", None, "on")
    assert accept.file == recs["worker_connections"].file and accept.line is None  # inserted into events {}
    assert accept.why == "a worker that wakes up accepts all 40 waiting clients, not one"
    assert "+    multi_accept on;" in d.diff
    assert [c.role for c in d.commands].count("worker_pids") == 1  # both recipes verify it: once


# --- a guide is data: a recipe names it, its checks read their markers from YAML ---------------


def test_a_recipe_names_its_guide_and_others_get_the_default(tmp_path, matcher):
    from bot.conversation.guide import build_steps, check_output, guide_for, guide_step

    extra = tmp_path / "extra"
    (extra / "guides").mkdir(parents=True)
    (extra / "recipes").mkdir()
    guide = (builtin_kb_dir() / "guides" / "worker-limits-guide.yaml").read_text()
    guide = guide.replace("id: worker-limits-guide", "id: careful").replace("default: true", "default: false")
    guide = guide.replace("      - title: Test the configuration", "      - title: Test the configuration twice")
    guide = guide.replace('fails_on: ["test failed", "[emerg]"]', 'fails_on: ["test failed", "[emerg]", "[warn]"]')
    (extra / "guides" / "careful.yaml").write_text(guide)
    recipe = (builtin_kb_dir() / "recipes" / "raise-worker-limits.yaml").read_text()
    (extra / "recipes" / "raise-worker-limits.yaml").write_text(
        recipe.replace("guide: worker-limits-guide", "guide: careful")
    )
    kb = load_kb([builtin_kb_dir(), extra])
    assert check_links(kb) == []

    ev = Collected()
    ev.add_text((EXAMPLE / "error.log").read_text(), matcher)
    sizing = diagnose_evidence(ev, kb)
    assert build_steps(kb, sizing)[2].title == "Test the configuration twice"
    warned = (
        'nginx: [warn] conflicting server name "x" on 0.0.0.0:80, ignored\n'
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
        "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
    )
    verdict = check_output(guide_step(kb, sizing, 3), warned, sizing, kb, matcher)
    assert not verdict.passed and "test **failed**" in verdict.text

    timeout = ev_of(matcher, TIMEOUT_LINE)
    other = diagnose_evidence(timeout, kb)
    assert guide_for(kb, other).id == "upstream-timeout-guide"  # its own recipe's guide (issue 10)
    # without `nginx -T` nothing in nginx changes yet: no change, test or reload step
    assert [s.kind for s in build_steps(kb, other)] == ["check", "verify"]
    conflict = diagnose_evidence(
        ev_of(matcher, 'nginx: [warn] conflicting server name "x" on 0.0.0.0:80, ignored\n'), kb
    )
    assert conflict.matches and guide_for(kb, conflict).id == "worker-limits-guide"  # no recipe: the default


TIMEOUT_LINE = (
    "2024/03/02 10:11:10 [error] 2719#2719: *50 upstream timed out (110: Connection timed out) while reading "
    'response header from upstream, client: 10.0.0.2, server: x, request: "GET /slow HTTP/1.1", '
    'upstream: "http://10.0.0.9:8080/slow", host: "x"\n'
)


def ev_of(matcher, *pastes: str) -> Collected:
    ev = Collected()
    for paste in pastes:
        ev.add_text(paste, matcher)
    return ev
