"""Which nginx message is this line? Look it up in ``kb/catalog/messages.json``.

Built for lines the curated entries miss, so it must cost nothing on the hot path: the
data is read once, on the first lookup; an Aho-Corasick automaton over each message's
literal anchor picks the few candidates a line can be; only their regexes (compiled on
first use) run, on the message head (the text before ``, client:``, which nginx appends
and no format contains). When several messages match, the one that pins the most literal
text wins, and a message logged at the line's own level beats one at another level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from bot.knowledge.catalog import MESSAGES_FILE
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_SCHEME_MODULE = {
    "http": "ngx_http_proxy_module",
    "https": "ngx_http_proxy_module",
    "fastcgi": "ngx_http_fastcgi_module",
    "uwsgi": "ngx_http_uwsgi_module",
    "suwsgi": "ngx_http_uwsgi_module",
    "scgi": "ngx_http_scgi_module",
    "grpc": "ngx_http_grpc_module",
    "grpcs": "ngx_http_grpc_module",
    "memcached": "ngx_http_memcached_module",
}
_SUFFIX = lazy_compile(r" \((?:[0-9]{1,5}|SSL): ")


@dataclass(frozen=True)
class CatalogMessage:
    """One message nginx can log, where it comes from and what it concerns."""

    id: str
    format: str
    level: str
    module: str
    modules: tuple[str, ...]
    source: str
    sources: tuple[str, ...]
    config: bool
    in_file: bool  # nginx appends " in FILE:LINE" (ngx_conf_log_error, or a handler's returned text)
    directives: tuple[str, ...]
    docs: tuple[str, ...]
    anchor: str | None
    literal_chars: int
    pattern: str | None

    @property
    def when(self) -> str:
        """When nginx logs it, in words."""
        if self.config:
            return say("catalog.when_config")
        if self.level == "stderr":
            return say("catalog.when_console")
        if self.level == "emerg":
            return say("catalog.when_emerg")
        return say("catalog.when_running")

    def module_for(self, upstream: str | None = None) -> str:
        """The module that logged it; several modules log some texts, the upstream's scheme picks one."""
        if len(self.modules) == 1:
            return self.module
        scheme = upstream.split("://", 1)[0].lower() if upstream and "://" in upstream else ""
        wanted = _SCHEME_MODULE.get(scheme)
        for module in self.modules:
            if wanted and module == wanted:
                return module
        shown = ", ".join(self.modules[:3])
        return shown + (f" and {len(self.modules) - 3} more" if len(self.modules) > 3 else "")

    def to_json(self, upstream: str | None = None) -> dict[str, Any]:
        """The ``catalog`` object of ``match --format jsonl`` and ``diagnose --format json``."""
        return {
            "id": self.id,
            "format": self.format,
            "module": self.module_for(upstream),
            "modules": list(self.modules),
            "level": self.level,
            "source": self.source,
            "directives": list(self.directives),
            "docs": list(self.docs),
            "when": self.when,
        }

    def describe(self, upstream: str | None = None) -> str:
        """One sentence for people: which module, what level, when, where to read more."""
        where = f"logged by {self.module_for(upstream)}"
        level = (
            "console message"
            if self.level == "stderr"
            else ("level chosen at run time" if self.level == "runtime" else f"[{self.level}]")
        )
        text = f"Known NGINX message `{self.format}`: {where}, {level}, {self.when}; source {self.source}."
        if self.docs:
            text += " Read about " + ", ".join(f"`{d}` ({u})" for d, u in zip(self.directives, self.docs, strict=True))
            text += "."
        return text


class Catalog:
    """The message catalogue of one nginx release, indexed by literal anchors."""

    def __init__(self, data: dict[str, Any]) -> None:
        nginx = data.get("nginx", {})
        self.release: str = str(nginx.get("release", "?"))
        self.commit: str = str(nginx.get("commit", "?"))
        self.messages: list[CatalogMessage] = [_message(m) for m in data["messages"]]
        self.by_id = {m.id: m for m in self.messages}
        owners: dict[str, list[int]] = {}
        for i, msg in enumerate(self.messages):
            if msg.pattern and msg.anchor:
                owners.setdefault(msg.anchor, []).append(i)
        self._automaton = ahocorasick.Automaton()
        for anchor, idxs in owners.items():
            self._automaton.add_word(anchor, tuple(idxs))
        if owners:
            self._automaton.make_automaton()
        self._empty = not owners
        self._compiled: dict[int, re.Pattern[str]] = {}

    def _regex(self, idx: int) -> re.Pattern[str]:
        rx = self._compiled.get(idx)
        if rx is None:
            pattern = self.messages[idx].pattern
            assert pattern is not None
            rx = self._compiled[idx] = re.compile(pattern, re.IGNORECASE)
        return rx

    def matches(self, message: str) -> list[CatalogMessage]:
        """Every catalogue message whose pattern occurs in the message head, most specific first."""
        if self._empty:
            return []
        cut = message.find(", client: ")
        head = message if cut < 0 else message[:cut]
        found: set[int] = set()
        for _end, idxs in self._automaton.iter(head.lower()):
            found.update(idxs)
        if not found:
            return []
        # nginx appends " (errno: strerror)" or " (SSL: ...)" after the format's text: a
        # match that starts inside that suffix matched the C library's words, not nginx's.
        suffix = _SUFFIX.search(head)
        limit = suffix.start() if suffix is not None else len(head)
        hits = []
        for i in found:
            m = self._regex(i).search(head)
            if m is not None and m.start() < limit:
                hits.append(i)
        hits.sort(key=lambda i: (-self.messages[i].literal_chars, i))
        return [self.messages[i] for i in hits]

    def lookup(self, message: str, level: str | None = None) -> CatalogMessage | None:
        """The message this line is, or None: most literal text first, then the line's own level."""
        hits = self.matches(message)
        if not hits:
            return None
        best = hits[0].literal_chars
        top = [h for h in hits if h.literal_chars == best]
        if level:
            same = [h for h in top if h.level in (level, "runtime")]
            if same:
                return same[0]
        return top[0]


def _message(raw: dict[str, Any]) -> CatalogMessage:
    return CatalogMessage(
        id=raw["id"],
        format=raw["format"],
        level=raw["level"],
        module=raw["module"],
        modules=tuple(raw["modules"]),
        source=raw["source"],
        sources=tuple(raw["sources"]),
        config=bool(raw["config"]),
        in_file=bool(raw.get("in_file", False)),
        directives=tuple(raw["directives"]),
        docs=tuple(raw["docs"]),
        anchor=raw["anchor"],
        literal_chars=int(raw["literal_chars"]),
        pattern=raw["pattern"],
    )


def catalog_dir() -> Path:
    """``kb/catalog`` of the bundled knowledge base."""
    from bot.knowledge.loader import builtin_kb_dir

    return builtin_kb_dir() / "catalog"


@lru_cache(maxsize=4)
def load_catalog(directory: Path | None = None) -> Catalog | None:
    """The catalogue in ``directory`` (default: the bundled one), read once; None when absent."""
    from bot.knowledge.loader import KnowledgeBaseError

    path = (directory or catalog_dir()) / MESSAGES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KnowledgeBaseError([f"{path}: cannot read the message catalogue: {exc}"]) from exc
    try:
        return Catalog(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KnowledgeBaseError(
            [
                f"{path}: not a message catalogue ({type(exc).__name__}: {exc}); "
                "regenerate it with nginx-triage kb catalog"
            ]
        ) from exc
