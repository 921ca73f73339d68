"""The one database pool, owned by `databases` (asyncpg backend).

Everyday queries go through `Database`; the CSV loader borrows the raw asyncpg connection from it
for `copy_records_to_table`, so there is never a second pool.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
from databases import Database


def connect_args(url: str) -> dict[str, Any]:
    """Options asyncpg needs that `databases` drops from the URL, such as a unix-socket `host`."""
    query = parse_qs(urlsplit(url).query)
    return {"host": query["host"][0]} if "host" in query else {}


def create_database(url: str, pool_size: int = 10) -> Database:
    base = url.split("?", 1)[0]
    return Database(base, min_size=1, max_size=pool_size, **connect_args(url))


async def connect_raw(url: str) -> asyncpg.Connection:
    """A single asyncpg connection outside the pool, for the migration runner and tools."""
    return await asyncpg.connect(url.split("?", 1)[0], **connect_args(url))
