"""The one database pool, owned by `databases` (asyncpg backend).

Everyday queries go through `Database`; the CSV loader borrows the raw asyncpg connection from it
for `copy_records_to_table`, so there is never a second pool.
"""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg
from databases import Database
from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def create_database(url: str, pool_size: int = 10) -> Database:
    """The pool. `databases` reads only the URL's host, port, user, password and name; the whole
    URL also goes to asyncpg as its `dsn`, so query options such as a unix-socket `host` or
    `sslmode=verify-full` take effect instead of being dropped."""
    return Database(url.split("?", 1)[0], min_size=1, max_size=pool_size, dsn=url)


async def connect_raw(url: str) -> asyncpg.Connection:
    """A single asyncpg connection outside the pool, for the migration runner and tools."""
    return await asyncpg.connect(url)


async def fetch_model(db: Database, query: str, values: dict[str, Any], model: type[Model]) -> Model | None:
    """The row `query` returns as a `model`, or None when it returns none."""
    row = await db.fetch_one(query, values)
    return None if row is None else model.model_validate(dict(row._mapping))
