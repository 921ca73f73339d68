"""PostgreSQL databases and Redis databases of one's own, on servers someone else runs.

The test suite clones each test's database from a migrated template; the browser tests and the
benchmarks make a fresh one per run. All of them take an admin URL (a database to run CREATE and
DROP DATABASE from) and derive the URL of the database they made from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis

from fulfil.db import connect_raw
from fulfil.migrate import apply_migrations


@dataclass
class Servers:
    """The PostgreSQL and Redis servers a run uses (configured, or the embedded ones)."""

    admin_url: str  # a database URL to run CREATE/DROP DATABASE from
    redis_url: str  # the Redis server, without a database number


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name` (keeps a `?host=` unix socket)."""
    base, _, query = url.partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{name}" + (f"?{query}" if query else "")


def redis_db_url(base: str, db: int) -> str:
    """The same Redis server, database number `db` (a unix socket takes it as `?db=`)."""
    if base.startswith("unix://"):
        return f"{base.split('?')[0]}?db={db}"
    return urlunsplit(urlsplit(base)._replace(path=f"/{db}"))


async def admin_execute(admin_url: str, sql: str) -> None:
    """Run one statement on its own connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    conn = await connect_raw(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(admin_url: str, name: str, *, migrate: bool = False, template: str | None = None) -> str:
    """Database `name`, dropped first if it exists, copied from `template` or empty; migrated if told; its URL."""
    await drop_database(admin_url, name)
    await admin_execute(admin_url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    url = with_database(admin_url, name)
    if migrate:
        conn = await connect_raw(url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
    return url


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` if it exists, closing the connections still open on it."""
    await admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def empty_redis(url: str) -> None:
    """Remove every key of the Redis database at `url` (only ever one a test or a benchmark owns)."""
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
