"""A condition "column is one of a list", as each database runs it best.

PostgreSQL gets `column = ANY(:array)`: one statement text whatever the list's length,
so asyncpg prepares it once, where an expanded `IN (:p1, …, :pN)` is a new prepared
statement for every length. SQLite has no arrays, so it gets the expanded `IN`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

DIALECTS = ("postgresql", "sqlite")


def one_of(column: sa.ColumnElement[Any], param: str, dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(param, type_=ARRAY(column.type)))
    return column.in_(sa.bindparam(param, expanding=True))
