"""The one database pool, owned by `databases` (asyncpg backend), and the import's own connection.

Everyday queries go through `Database`, one pooled connection per query or transaction. A CSV
import holds one connection for its whole run (its advisory lock, its staging table, its batches):
that connection is asyncpg's own (`dedicated_connection`), not one borrowed from the pool, because
`databases` binds a borrowed connection to the task, and once the server drops it every later
query of that task fails with "connection has been released back to the pool" until the task ends
(tests/faults/test_database.py shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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


# The server went away or dropped the connection (a failover, a restart, pg_terminate_backend):
# worth waiting for, unlike an error in the query itself.
CONNECTION_LOST: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # "terminating connection due to administrator command"
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)


@contextlib.asynccontextmanager
async def dedicated_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """One asyncpg connection of the caller's own for a long unit of work, closed at the end (or
    dropped outright if closing fails), so no pool ever sees it."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        try:
            await asyncio.wait_for(conn.close(), 5)
        except Exception:
            conn.terminate()


async def connect_raw(url: str) -> asyncpg.Connection:
    """A single asyncpg connection outside the pool, for the migration runner and tools."""
    return await asyncpg.connect(url)


async def fetch_model(db: Database, query: str, values: dict[str, Any], model: type[Model]) -> Model | None:
    """The row `query` returns as a `model`, or None when it returns none."""
    row = await db.fetch_one(query, values)
    return None if row is None else model.model_validate(dict(row._mapping))
