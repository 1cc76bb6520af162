"""``say("sizing.usable_slots", wc=1024, ...)``: the engine's sentences, rendered from ``kb/texts``.

Every user-facing sentence about NGINX lives in a text catalog, never in Python. The
catalogs load once per process (the first ``say``), from the same directories as the rest
of the knowledge base, so ``KB_EXTRA_DIR`` can reword them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.knowledge.templates import render_text

if TYPE_CHECKING:
    from bot.knowledge.texts_schema import TextCatalog


class TextBook:
    """All texts by ``<catalog>.<key>``; later catalogs with the same id override per key."""

    def __init__(self, catalogs: Iterable[TextCatalog]) -> None:
        self.texts: dict[str, str] = {}
        for catalog in catalogs:
            for key, text in catalog.texts.items():
                self.texts[f"{catalog.id}.{key}"] = text

    def say(self, key: str, /, **values: Any) -> str:
        """The text ``key`` rendered with ``values``; ``KeyError`` names a text that does not exist."""
        try:
            source = self.texts[key]
        except KeyError:
            raise KeyError(f"no text {key!r} in kb/texts (catalog.key)") from None
        return render_text(source, values)


@cache
def default_book() -> TextBook:
    """The texts of the configured KB directories, loaded on first use: from the compiled KB
    cache when the whole KB is valid, else only the text catalogs (so errors can be said)."""
    from bot.knowledge.kb_cache import cached_kb
    from bot.knowledge.loader import KnowledgeBaseError, kb_dirs_from_env, load_texts

    try:
        return TextBook(cached_kb().texts.values())
    except KnowledgeBaseError:
        return TextBook(load_texts(kb_dirs_from_env()).values())


def say(key: str, /, **values: Any) -> str:
    """Render one text of the default book."""
    return default_book().say(key, **values)
