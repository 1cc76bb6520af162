"""Validated KB entries as plain, frozen records: what the compiled KB cache stores.

The pydantic models in ``*_schema.py`` validate the YAML; once an entry has passed, the
engine only reads its attributes. A ``Record`` carries the same attributes (every field,
defaults included, nested models as nested records), so a cached KB loads with ``pickle``
alone: no pydantic, no YAML, no validators at start-up. Records are frozen like the models.
"""

from __future__ import annotations

from typing import Any


class Record:
    """One validated model instance as attributes; equal when every field is equal."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"KB records are frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"KB records are frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is Record and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(tuple(self.__dict__.values()))

    def __repr__(self) -> str:
        return "Record(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def to_records(value: Any) -> Any:
    """``value`` with every pydantic model in it (at any depth) turned into a ``Record``."""
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):
        return Record({name: to_records(getattr(value, name)) for name in fields})
    if isinstance(value, list):
        return [to_records(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_records(v) for v in value)
    if isinstance(value, dict):
        return {k: to_records(v) for k, v in value.items()}
    return value
