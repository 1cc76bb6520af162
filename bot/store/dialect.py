"""INSERT ... ON CONFLICT for the two backends we support.

Both SQLite and PostgreSQL speak the same ON CONFLICT clause, but SQLAlchemy builds it
with a dialect-specific ``insert``; picking it here keeps the store free of branches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.schema import Base


def _insert(conn: Connection, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_ignore(conn: Connection, model: type[Base], values: Mapping[str, Any], key: Sequence[str]) -> bool:
    """Insert one row unless ``key`` already exists; True when this call inserted it.

    The database decides, so two replicas racing on one key get exactly one True.
    RETURNING, not ``rowcount``: psycopg under SQLAlchemy reports -1 for this statement.
    """
    table = model.__table__
    stmt = (
        _insert(conn, model)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[k] for k in key))
    )
    return conn.execute(stmt).first() is not None


def upsert_add(
    conn: Connection,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    add: str,
    replace: Sequence[str],
) -> None:
    """Insert ``rows``; where ``key`` exists, add the ``add`` column and overwrite ``replace``.

    One atomic statement per row batch, so concurrent counters never lose an increment.
    """
    if not rows:
        return
    stmt = _insert(conn, model).values([dict(r) for r in rows])
    table = model.__table__
    updates: dict[str, ColumnElement[Any]] = {add: table.c[add] + stmt.excluded[add]}
    updates.update({name: stmt.excluded[name] for name in replace})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=updates))
