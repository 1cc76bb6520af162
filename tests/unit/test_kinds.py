"""One evidence-kind vocabulary: ``SECTION_KINDS`` ties what ``sniff`` emits, how each section
is read, what it proves (``kb/evidence.yaml``) and the field of ``Collected`` that keeps it;
no other module in ``bot/`` spells the list."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from bot.diagnosis import Collected
from bot.evidence import SECTION_KINDS, Section, is_evidence, sniff
from bot.knowledge.loader import KnowledgeBase, builtin_kb_dir
from bot.matching import Matcher
from tests.conftest import DATA, ROOT

EVIDENCE = DATA / "evidence"
PASTES = sorted(
    [*DATA.rglob("*.txt"), *(ROOT / "examples").rglob("*.txt"), *(ROOT / "examples").rglob("*.log")],
    key=str,
)
"""Every real paste and capture in the repository: logs, ``nginx -T`` dumps, command outputs."""


def test_sniff_emits_exactly_the_kinds_of_the_table() -> None:
    seen: dict[str, str] = {}
    for path in PASTES:
        for section in sniff(path.read_text(encoding="utf-8", errors="replace")):
            assert section.kind in SECTION_KINDS, f"{path}: sniff emitted {section.kind!r}, not in SECTION_KINDS"
            seen.setdefault(section.kind, str(path))
    assert set(seen) == set(SECTION_KINDS), f"no real paste shows {set(SECTION_KINDS) - set(seen)}"


def test_every_kind_proves_a_kind_of_kb_evidence(kb: KnowledgeBase) -> None:
    proven = {kind.proves for kind in SECTION_KINDS.values() if kind.proves is not None}
    assert proven <= set(kb.evidence), f"not in kb/evidence.yaml: {proven - set(kb.evidence)}"
    for name, kind in SECTION_KINDS.items():
        assert (kind.proves is None) == (name in ("question", "unknown")), name
        assert is_evidence(name) == (kind.proves is not None)


def test_every_kb_evidence_kind_has_words_for_people(kb: KnowledgeBase) -> None:
    for name, entry in kb.evidence.items():
        assert entry.label.strip() and entry.label != name, name


def test_every_kind_fills_a_field_of_collected() -> None:
    fields = {f.name for f in dataclasses.fields(Collected)}
    for name, kind in SECTION_KINDS.items():
        assert kind.fills is None or kind.fills in fields, name
        assert (kind.parse is None) == (kind.fills is None), name


def test_fixture_folders_are_section_kinds() -> None:
    folders = {p.name for p in EVIDENCE.iterdir() if p.is_dir()} - {"sniff"}
    assert folders <= set(SECTION_KINDS)


FIXTURES = sorted(p for p in EVIDENCE.glob("*/*.txt") if p.parent.name != "sniff")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_fixture_lands_in_its_field_and_proves_its_kind(path: Path, matcher: Matcher) -> None:
    kind = SECTION_KINDS[path.parent.name]
    assert kind.fills is not None and kind.proves is not None
    ev = Collected()
    ev.take(Section(path.parent.name, path.read_text(encoding="utf-8"), 1), matcher)
    assert not ev.problems
    assert kind.proves in ev.present
    kept = getattr(ev, kind.fills)
    assert kept is not None and kept != []


def test_a_refused_section_proves_nothing(matcher: Matcher) -> None:
    ev = Collected()
    ev.take(Section("ulimit", "$ ulimit -a\ncore file size (blocks, -c) 0", 7), matcher, "paste 2")
    assert ev.ulimit is None and "ulimit" not in ev.present
    assert ev.problems and ev.problems[0].startswith("paste 2 line 7: ")


# -- the list is spelled once ----------------------------------------------------------------


def kind_lists(source: str, vocabulary: set[str]) -> list[int]:
    """Lines of list/tuple/set literals (and dict keys) that spell out the kind vocabulary:
    at least three entries, most of them kind ids."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        words = [e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        hits = [w for w in words if w in vocabulary]
        if len(hits) >= 3 and 2 * len(hits) > len(items):
            found.append(node.lineno)
    return found


def _vocabulary() -> set[str]:
    import yaml

    with (builtin_kb_dir() / "evidence.yaml").open(encoding="utf-8") as f:
        return set(SECTION_KINDS) | set(yaml.safe_load(f))


def test_no_module_but_the_table_spells_the_kinds() -> None:
    vocabulary = _vocabulary()
    table = ROOT / "bot" / "evidence" / "kinds.py"
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path != table and (lines := kind_lists(path.read_text(encoding="utf-8"), vocabulary))
    }
    assert not offenders, f"kind lists outside bot/evidence/kinds.py: {offenders}"
    assert kind_lists(table.read_text(encoding="utf-8"), vocabulary), "the table itself must be found"


def test_the_guard_finds_a_planted_copy() -> None:
    vocabulary = _vocabulary()
    planted = (
        'KINDS = frozenset({"errorlog", "nginx-T", "proc-limits"})\nEvidenceKind = Literal["nproc", "ss-s", "dns"]\n'
    )
    assert kind_lists(planted, vocabulary) == [1, 2]
    commands = '_BARE = frozenset({"ulimit", "nproc", "cat", "sysctl", "systemctl", "ss", "ps", "pgrep", "sudo"})\n'
    assert kind_lists(commands, vocabulary) == []


NOT_READ_YET: set[str] = set()
"""Evidence kinds the bot asks for but no parser reads yet (shown to the user as-is): none."""


def test_every_command_the_bot_asks_for_is_one_it_can_read(kb: KnowledgeBase) -> None:
    """The command of each kb/evidence.yaml kind prints a section sniff labels as a kind that
    proves it (or one of its ``proven_by``), so the paste that answers the question is read."""
    from bot.evidence import command_kind
    from bot.knowledge.templates import render_text

    values = {
        "socket": "",
        "backend_port": "8080",
        "backend_host": "localhost",
        "upstream_url": "",
        "upstream_scheme": "",
        "path": "",
        "cert": "",
        "key": "",
        "access_log": "",
    }
    for name, entry in kb.evidence.items():
        if name in NOT_READ_YET or name == "master-limits":
            continue
        command = render_text(entry.command, values) if entry.template else entry.command
        wanted = {name, *entry.proven_by}
        for part in command.split(";"):
            kind = command_kind(part.strip())
            if name == "nginx-T":
                assert kind == "nginx-t"  # the dump itself is recognised by its file headers
                continue
            assert kind is not None and SECTION_KINDS[kind].proves in wanted, (name, part, kind)
