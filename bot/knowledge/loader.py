"""Load and validate the knowledge base from YAML files.

Errors are collected for every file and reported together, each as ``file:line: field: what``,
so that someone adding an entry sees all their mistakes at once and knows where they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# Importing this module must stay cheap: every command imports it for ``KnowledgeBase``, and
# the compiled KB cache (``bot.knowledge.kb_cache``) serves the everyday calls without YAML or
# pydantic. The parser and the schema load only when a KB is validated from source.
if TYPE_CHECKING:
    import yaml
    from pydantic import BaseModel

    from bot.knowledge.findings_schema import FindingEntry
    from bot.knowledge.guides_schema import Guide
    from bot.knowledge.recipes_schema import Recipe
    from bot.knowledge.schema import EnvironmentEntry, ErrorEntry, EvidenceKindEntry, FaqEntry
    from bot.knowledge.texts_schema import TextCatalog
    from bot.knowledge.vocabulary_schema import Vocabulary

VOCABULARY_FILE = "synonyms.yaml"
"""The one file in ``kb/faq/`` that is not a FAQ: the question vocabulary (``Vocabulary``)."""

REQUIRED_ERROR_IDS: tuple[str, ...] = (
    "bind-address-in-use", "client-body-buffered", "client-body-too-large",
    "config-include-not-found", "config-test-failed", "conflicting-server-name",
    "connection-reset-by-peer", "directory-index-forbidden", "file-not-found",
    "host-not-found-in-upstream", "limiting-connections", "limiting-requests",
    "no-live-upstreams", "no-space-left", "permission-denied", "resolver-failed",
    "rlimit-nofile-notice", "server-names-hash-too-small", "setrlimit-failed",
    "ssl-certificate-load-failed", "ssl-handshake-failed", "too-many-open-files",
    "types-hash-too-small", "upstream-connection-refused", "upstream-no-route-to-host",
    "upstream-prematurely-closed", "upstream-response-buffered",
    "upstream-socket-backlog-full", "upstream-socket-missing",
    "upstream-socket-permission-denied", "upstream-temporarily-disabled",
    "upstream-timed-out", "upstream-too-big-header", "worker-connections-exceed-rlimit",
    "worker-connections-not-enough", "worker-process-exited",
    # issue 8: the families real pasted lines show beyond the first 36 (DESIGN.md)
    "lua-runtime-error", "lua-cosocket-error", "lua-setup-failed", "module-load-failed",
    "directive-deprecated", "ssl-stapling-failed", "fastcgi-stderr", "user-not-found",
    "user-directive-ignored", "uninitialized-variable", "invalid-pid", "proxy-protocol-broken-header",
    "zero-size-buf", "shared-memory-exhausted", "auth-basic-failed", "listen-address-family-unsupported",
    "temp-path-not-writable", "geoip-database-failed", "modsecurity", "njs-error", "auth-request-unexpected-status",
)  # fmt: skip

REQUIRED_FAQ_IDS: tuple[str, ...] = (
    "proxy-uses-two-connections", "worker-connections-vs-open-files", "reload-or-restart",
    "max-worker-connections", "worker-processes-auto", "check-worker-fd-limit",
    "systemd-limitnofile", "total-capacity", "keepalive-slots", "http2-connections",
)  # fmt: skip

M = TypeVar("M", bound="BaseModel")


def _yaml_loader() -> Any:
    """libyaml's parser where it is built in (~15x faster than the pure-Python one)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeBaseError(Exception):
    """The knowledge base could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("knowledge base is invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class KnowledgeBase:
    """Every validated entry, by id, plus where each came from (``sources["<dir>/<id>"]``)."""

    errors: dict[str, ErrorEntry]
    faqs: dict[str, FaqEntry]
    environments: dict[str, EnvironmentEntry]
    evidence: dict[str, EvidenceKindEntry] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    findings: dict[str, FindingEntry] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    texts: dict[str, TextCatalog] = field(default_factory=dict)
    vocabulary: Vocabulary | None = None
    """Synonyms and filler words for answering questions (every directory's, merged)."""

    @property
    def default_environment(self) -> EnvironmentEntry | None:
        """The environment assumed when nothing pasted reveals one (``default: true``)."""
        return next((e for e in self.environments.values() if e.default), None)

    @property
    def default_guide(self) -> Guide | None:
        """The guide for diagnoses whose recipes name none (``default: true``)."""
        return next((g for g in self.guides.values() if g.default), None)


def builtin_kb_dir() -> Path:
    """Locate the bundled KB: inside the installed wheel, else the source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "kb_data", here.parent / "kb"):
        if (candidate / "errors").is_dir():
            return candidate
    raise KnowledgeBaseError([f"no knowledge base found next to {here} (expected kb_data/ or ../kb/)"])


def kb_dirs_from_env() -> list[Path]:
    """Built-in KB first, then ``KB_EXTRA_DIR`` (extra or replacement entries) if set."""
    dirs = [builtin_kb_dir()]
    extra = os.environ.get("KB_EXTRA_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


def _node_line(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at a pydantic error location, as deep as it exists."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def node_line(path: Path, loc: Sequence[int | str]) -> int | None:
    """1-based line of the field at ``loc`` in the YAML file ``path`` (None if unreadable)."""
    import yaml

    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return _node_line(node, loc)


def _load_one(path: Path, model: type[M], problems: list[str]) -> M | None:
    import yaml
    from pydantic import ValidationError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    try:
        data: Any = yaml.load(text, Loader=_yaml_loader())
        node = None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problems.append(f"{where}: YAML syntax: {getattr(exc, 'problem', exc)}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}:1: top level must be a mapping, got {type(data).__name__}")
        return None
    try:
        entry = model.model_validate(data)
    except ValidationError as exc:
        # Line numbers are only needed to report a problem: compose the node tree then.
        node = yaml.compose(text, Loader=_yaml_loader())
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, int | str)]
            fld = ".".join(str(p) for p in loc) or "(top level)"
            line = _node_line(node, loc)
            problems.append(f"{path}:{line or 1}: {fld}: {err['msg']}")
        return None
    entry_id = getattr(entry, "id", None)
    if entry_id != path.stem:
        node = yaml.compose(text, Loader=_yaml_loader())
        problems.append(
            f"{path}:{_node_line(node, ['id']) or 1}: id: {entry_id!r} must equal the file name {path.stem!r}"
        )
        return None
    return entry


def _yaml_files(directory: Path) -> Iterable[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


_KIND_KEYS = (
    ("errors", "match"),
    ("faq", "phrasings"),
    ("environments", "commands"),
    ("findings", "summary"),
    ("recipes", "changes"),
    ("guides", "steps"),
    ("texts", "texts"),
    ("vocabulary", "synonyms"),
)


def _flat_files(base: Path, problems: list[str]) -> dict[str, list[Path]]:
    """YAML files directly in a KB directory, sorted by what they hold.

    A Kubernetes ConfigMap mounts as one flat directory, so a team's extra entries may sit
    side by side; the top-level keys tell an error entry (``match``) from a FAQ
    (``phrasings``), an environment (``commands``), a finding (``summary``), a recipe
    (``changes``), a guide (``steps``) and a text catalog (``texts``).
    """
    import yaml

    out: dict[str, list[Path]] = {kind: [] for kind, _ in _KIND_KEYS}
    for path in _yaml_files(base):
        if path.name == "evidence.yaml":
            continue
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            data = None  # _load_one reports it with its line below
        kind = next((k for k, key in _KIND_KEYS if isinstance(data, dict) and key in data), None)
        if kind is None:
            if data is None:
                out["errors"].append(path)
            else:
                problems.append(
                    f"{path}:1: not a KB entry: an error entry has `match`, a FAQ `phrasings`, "
                    "an environment `commands`, a finding `summary`, a recipe `changes`, "
                    "a guide `steps`, a text catalog `texts`"
                )
            continue
        out[kind].append(path)
    return out


def load_kb(dirs: Sequence[Path] | None = None, *, require_builtin_ids: bool = False) -> KnowledgeBase:
    """Load every KB directory in order; a later file with the same id replaces an earlier one."""
    from bot.knowledge.findings_schema import FindingEntry
    from bot.knowledge.guides_schema import Guide
    from bot.knowledge.recipes_schema import Recipe
    from bot.knowledge.schema import EnvironmentEntry, ErrorEntry, FaqEntry

    dirs = list(dirs) if dirs is not None else kb_dirs_from_env()
    problems: list[str] = []
    errors: dict[str, ErrorEntry] = {}
    faqs: dict[str, FaqEntry] = {}
    envs: dict[str, EnvironmentEntry] = {}
    sources: dict[str, Path] = {}
    evidence: dict[str, EvidenceKindEntry] = {}
    findings: dict[str, FindingEntry] = {}
    recipes: dict[str, Recipe] = {}
    guides: dict[str, Guide] = {}
    texts: dict[str, TextCatalog] = {}
    vocabulary: Vocabulary | None = None
    for base in dirs:
        if not base.is_dir():
            problems.append(f"{base}: knowledge-base directory does not exist")
            continue
        flat = _flat_files(base, problems)
        for path in [*_yaml_files(base / "errors"), *flat["errors"]]:
            if (e := _load_one(path, ErrorEntry, problems)) is not None:
                errors[e.id] = e
                sources[f"errors/{e.id}"] = path
        for path in [p for p in _yaml_files(base / "faq") if p.name != VOCABULARY_FILE] + flat["faq"]:
            if (f := _load_one(path, FaqEntry, problems)) is not None:
                faqs[f.id] = f
                sources[f"faq/{f.id}"] = path
        for path in [*_yaml_files(base / "environments"), *flat["environments"]]:
            if (v := _load_one(path, EnvironmentEntry, problems)) is not None:
                envs[v.id] = v
                sources[f"environments/{v.id}"] = path
        _load_kind(base, "findings", flat, FindingEntry, findings, sources, problems)
        _load_kind(base, "recipes", flat, Recipe, recipes, sources, problems)
        _load_kind(base, "guides", flat, Guide, guides, sources, problems)
        _merge_texts(base, flat, texts, sources, problems)
        vocabulary = _merge_vocabulary(base, flat, vocabulary, sources, problems)
        evidence.update(_load_evidence(base / "evidence.yaml", problems))
    _check_needs(errors, evidence, sources, problems)
    if require_builtin_ids:
        missing = [i for i in REQUIRED_ERROR_IDS if i not in errors]
        missing += [i for i in REQUIRED_FAQ_IDS if i not in faqs]
        if missing and not problems:
            problems.append(f"required entries missing: {', '.join(missing)}")
    if problems:
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(
        errors=errors,
        faqs=faqs,
        environments=envs,
        evidence=evidence,
        sources=sources,
        findings=findings,
        recipes=recipes,
        guides=guides,
        texts=texts,
        vocabulary=vocabulary,
    )


def _merge_vocabulary(
    base: Path, flat: dict[str, list[Path]], into: Vocabulary | None, sources: dict[str, Path], problems: list[str]
) -> Vocabulary | None:
    """``faq/synonyms.yaml`` (or a flat file with ``synonyms``): a later directory adds groups and words."""
    from pydantic import ValidationError

    from bot.knowledge.vocabulary_schema import Vocabulary

    paths = [p for p in [base / "faq" / VOCABULARY_FILE] if p.is_file()] + flat["vocabulary"]
    for path in paths:
        loaded = _load_one(path, Vocabulary, problems)
        if loaded is None:
            continue
        sources["faq/synonyms"] = path
        if into is not None:
            merged = {g.term: g for g in into.synonyms} | {g.term: g for g in loaded.synonyms}
            try:
                loaded = Vocabulary(
                    id="synonyms", synonyms=list(merged.values()), ignore=[*into.ignore, *loaded.ignore]
                )
            except ValidationError as exc:
                problems.append(f"{path}:1: synonyms: {exc.errors()[0]['msg']}")
                continue
        into = loaded
    return into


def _load_kind(
    base: Path,
    kind: str,
    flat: dict[str, list[Path]],
    model: type[M],
    into: dict[str, M],
    sources: dict[str, Path],
    problems: list[str],
) -> None:
    """Every ``base/<kind>/*.yaml`` (and flat file of that kind) into ``into``, by id."""
    for path in [*_yaml_files(base / kind), *flat[kind]]:
        if (entry := _load_one(path, model, problems)) is not None:
            entry_id = path.stem  # _load_one checked that the id equals it
            into[entry_id] = entry
            sources[f"{kind}/{entry_id}"] = path


def _merge_texts(
    base: Path,
    flat: dict[str, list[Path]],
    into: dict[str, TextCatalog],
    sources: dict[str, Path],
    problems: list[str],
) -> None:
    """Text catalogs merge key by key: an extra directory may reword a few sentences only."""
    from bot.knowledge.texts_schema import TextCatalog

    loaded: dict[str, TextCatalog] = {}
    _load_kind(base, "texts", flat, TextCatalog, loaded, sources, problems)
    for cid, catalog in loaded.items():
        earlier = into.get(cid)
        into[cid] = catalog if earlier is None else TextCatalog(id=cid, texts={**earlier.texts, **catalog.texts})


def load_texts(dirs: Sequence[Path]) -> dict[str, TextCatalog]:
    """Only the text catalogs (what ``bot.knowledge.texts`` needs), merged over ``dirs`` in order."""
    problems: list[str] = []
    texts: dict[str, TextCatalog] = {}
    sources: dict[str, Path] = {}
    for base in dirs:
        if base.is_dir():
            _merge_texts(base, _flat_files(base, problems), texts, sources, problems)
    if problems:
        raise KnowledgeBaseError(problems)
    return texts


def _load_evidence(path: Path, problems: list[str]) -> dict[str, EvidenceKindEntry]:
    """The evidence-kind table (optional in an extra KB directory)."""
    import yaml
    from pydantic import ValidationError

    from bot.knowledge.schema import EvidenceKindEntry

    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_yaml_loader())
        data: Any = yaml.load(text, Loader=_yaml_loader())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}:1: top level must be a mapping of evidence kinds")
        return {}
    out: dict[str, EvidenceKindEntry] = {}
    for kind, body in data.items():
        try:
            out[str(kind)] = EvidenceKindEntry.model_validate(body)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(kind), *(p for p in err["loc"] if isinstance(p, int | str))]
                problems.append(f"{path}:{_node_line(node, loc) or 1}: {'.'.join(map(str, loc))}: {err['msg']}")
    return out


def _check_needs(
    errors: dict[str, ErrorEntry], evidence: dict[str, EvidenceKindEntry], sources: dict[str, Path], problems: list[str]
) -> None:
    """Every ``needs.evidence`` must name a kind of ``evidence.yaml``: the one evidence-kind vocabulary."""
    import yaml

    for entry in errors.values():
        for i, need in enumerate(entry.needs):
            if need.evidence in evidence:
                continue
            path = sources[f"errors/{entry.id}"]
            node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
            line = _node_line(node, ["needs", i, "evidence"]) or 1
            problems.append(
                f"{path}:{line}: needs.{i}.evidence: unknown kind {need.evidence!r}; "
                f"one of the keys of evidence.yaml: {', '.join(sorted(evidence)) or '(none loaded)'}"
            )
