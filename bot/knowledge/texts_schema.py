"""Schema of ``kb/texts/*.yaml``: the engine's own sentences, by name, as Jinja2 templates.

The engine decides *what* to say; these files hold *how* it is said. Keeping the words here
means an NGINX operator can correct advice without reading Python, and a test can prove
that no operational sentence hides in the code.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from bot.knowledge.schema import KEBAB_ID, Strict

TEXT_KEY = r"^[a-z][a-z0-9_]*$"


class TextCatalog(Strict):
    """One file of texts: ``say("<id>.<key>", **values)`` renders ``texts[key]``."""

    id: str = Field(pattern=KEBAB_ID)
    texts: dict[str, str] = Field(min_length=1, description="key -> Jinja2 template (StrictUndefined)")

    @field_validator("texts")
    @classmethod
    def _keys(cls, texts: dict[str, str]) -> dict[str, str]:
        for key in texts:
            if not re.match(TEXT_KEY, key):
                raise ValueError(f"text key {key!r} is not snake_case")
        return texts
