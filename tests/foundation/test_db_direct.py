"""`fulfil.db.direct_transaction`: the pool's asyncpg connection, the same `:name` SQL as `databases` takes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from databases import Database
from sqlalchemy import text

from fulfil.db import create_database, direct_fetch_one, direct_transaction, positional
from fulfil.products import history
from fulfil.products import queries as product_queries
from fulfil.webhooks import queries as webhook_queries
from tests.support.waiting import eventually

# The statements the single-product writes and the relay run through `direct_transaction`.
DIRECT_STATEMENTS = [
    product_queries.INSERT_PRODUCT,
    product_queries.SELECT_SKU_OWNER,
    product_queries.SELECT_PRODUCT_FOR_UPDATE,
    product_queries.UPDATE_PRODUCT,
    product_queries.DELETE_PRODUCT,
    webhook_queries.INSERT_EVENT,
    history.INSERT_ENTRY,
    webhook_queries.CLAIM_EVENTS,
    webhook_queries.INSERT_DELIVERIES,
    webhook_queries.FEED_LOCK,
    webhook_queries.MARK_RELAYED,
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Database]:
    """The app's kind of pool, of one connection, so each test sees the connection come back."""
    pool = create_database(database_url, pool_size=1)
    await pool.connect()
    yield pool
    await pool.disconnect()


def test_positional_numbers_each_name_once_and_leaves_casts_alone() -> None:
    sql, names = positional("SELECT :a, CAST(:b AS jsonb), :a, now()::date, '12:30' WHERE x = :b_2")
    assert sql == "SELECT $1, CAST($2 AS jsonb), $1, now()::date, '12:30' WHERE x = $3"
    assert names == ("a", "b", "b_2")


@pytest.mark.parametrize("statement", DIRECT_STATEMENTS)
def test_positional_finds_the_parameters_sqlalchemy_finds(statement: str) -> None:
    """What `databases` binds (through SQLAlchemy's text()) is what the direct path binds."""
    _, names = positional(statement)
    assert set(names) == set(text(statement).compile().params)


async def test_a_direct_transaction_commits_when_its_body_ends(pool: Database, db: asyncpg.Connection) -> None:
    async with direct_transaction(pool) as conn:
        row = await conn.fetch_one(product_queries.INSERT_PRODUCT, _product("D-1"))
        assert row is not None and row["sku"] == "D-1"
        assert await conn.fetch_val("SELECT count(*) FROM product WHERE sku = :sku", {"sku": "D-1"}) == 1
    assert await db.fetchval("SELECT count(*) FROM product WHERE sku = 'D-1'") == 1
    assert await pool.fetch_val("SELECT 1") == 1  # the connection went back to the pool of one


async def test_a_direct_transaction_rolls_back_when_its_body_raises(pool: Database, db: asyncpg.Connection) -> None:
    with pytest.raises(LookupError):
        async with direct_transaction(pool) as conn:
            await conn.execute(product_queries.INSERT_PRODUCT, _product("D-2"))
            raise LookupError("the body's own error")
    assert await db.fetchval("SELECT count(*) FROM product WHERE sku = 'D-2'") == 0
    assert await pool.fetch_val("SELECT 1") == 1


async def test_a_session_ended_mid_transaction_fails_as_lost_and_the_pool_recovers(
    pool: Database, db: asyncpg.Connection
) -> None:
    with pytest.raises(Exception) as raised:
        async with direct_transaction(pool) as conn:
            pid = await conn.fetch_val("SELECT pg_backend_pid()")
            await db.execute("SELECT pg_terminate_backend($1)", pid)
            await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1", pid))
            await conn.execute(product_queries.INSERT_PRODUCT, _product("D-3"))
    assert isinstance(raised.value, asyncpg.PostgresConnectionError | asyncpg.InterfaceError), raised.value
    async with direct_transaction(pool) as conn:
        assert await conn.fetch_val("SELECT 1") == 1
    assert await pool.fetch_val("SELECT 1") == 1
    assert await db.fetchval("SELECT count(*) FROM product WHERE sku = 'D-3'") == 0


async def test_a_direct_transaction_needs_the_apps_pool(database_url: str) -> None:
    with pytest.raises(TypeError, match="create_database"):
        async with direct_transaction(Database(database_url)):
            pass


def _product(sku: str) -> dict[str, object]:
    return {"sku": sku, "name": "Direct", "description": None, "active": True}


async def _last_statement(db: asyncpg.Connection, pid: int) -> str:
    """What the backend `pid` ran last (its release's reset, when there was one)."""
    return str(await db.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid))


async def test_a_direct_statement_goes_back_to_the_pool_without_a_reset(pool: Database, db: asyncpg.Connection) -> None:
    row = await direct_fetch_one(pool, "SELECT pg_backend_pid() AS pid", {})
    assert row is not None
    assert await _last_statement(db, row["pid"]) == "SELECT pg_backend_pid() AS pid"
    async with direct_transaction(pool) as conn:
        assert await conn.fetch_val("SELECT pg_backend_pid()") == row["pid"]  # the same connection
    assert await _last_statement(db, row["pid"]) == "COMMIT;"


async def test_a_connection_back_from_databases_is_reset(pool: Database, db: asyncpg.Connection) -> None:
    """The skip is for the direct paths only: session state left by any other query is cleared."""
    async with pool.connection() as conn:
        pid = await conn.fetch_val("SELECT pg_backend_pid()")
        await conn.execute("SET statement_timeout = '1234ms'")
        await conn.execute("SELECT pg_advisory_lock(4242)")
    assert "pg_advisory_unlock_all()" in await _last_statement(db, pid)
    row = await direct_fetch_one(pool, "SELECT pg_backend_pid() AS pid, current_setting('statement_timeout') AS t", {})
    assert row is not None and (row["pid"], row["t"]) == (pid, "0")
    assert await db.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242") == 0
