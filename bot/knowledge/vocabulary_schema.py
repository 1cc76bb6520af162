"""Schema of ``kb/faq/synonyms.yaml``: the words people use for the same NGINX thing.

Questions arrive in many words for one idea ("fd", "file descriptors", "open files",
"nofile"); the FAQ's retrieval reads every phrase of a group as its ``term``, in the
entries and in the question alike, so one wording matches the others. Words that carry no
meaning in a question ("hey", "pls") are listed under ``ignore``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.knowledge.schema import Strict

TERM = r"^[a-z0-9_]+$"


class SynonymGroup(Strict):
    """One idea: the index term and the phrases that say the same."""

    term: str = Field(pattern=TERM, description="the one token every phrase of the group becomes")
    same: list[str] = Field(
        min_length=1,
        description="phrases on word boundaries: lower-case ones match any case, one with a capital only "
        "as written (`-T` is not `-t`)",
    )

    @field_validator("same")
    @classmethod
    def _phrases(cls, same: list[str]) -> list[str]:
        for phrase in same:
            if not phrase.strip() or phrase != phrase.strip():
                raise ValueError(f"phrase {phrase!r} is empty or has surrounding spaces")
        return same


class Vocabulary(Strict):
    """The whole file: synonym groups and the filler words a question may carry."""

    id: Literal["synonyms"]
    synonyms: list[SynonymGroup] = Field(min_length=1)
    ignore: list[str] = Field(default_factory=list, description="words dropped from questions and entries")
    asks_meaning: list[str] = Field(
        default_factory=list,
        description='words that ask what a message means ("what does X mean"): error entries rank higher then',
    )

    @model_validator(mode="after")
    def _each_phrase_once(self) -> Vocabulary:
        seen: dict[str, str] = {}
        for group in self.synonyms:
            for phrase in group.same:
                if phrase in seen and seen[phrase] != group.term:
                    raise ValueError(f"phrase {phrase!r} is in the groups {seen[phrase]!r} and {group.term!r}")
                seen[phrase] = group.term
        for word in [*self.ignore, *self.asks_meaning]:
            if not re.match(TERM, word):
                raise ValueError(f"ignored word {word!r} must be one lower-case word")
        return self
