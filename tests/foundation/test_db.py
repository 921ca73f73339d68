"""`databases` against connections that fail: what the stock classes do, and what `fulfil.db`'s pool does instead."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from databases import Database

from fulfil.db import create_database
from tests.support.waiting import eventually


def stock(url: str) -> Database:
    return Database(url, min_size=1, max_size=1)


async def test_stock_databases_keeps_the_connection_of_a_transaction_that_could_not_begin(database_url: str) -> None:
    """The stock Transaction takes the connection, then fails to begin, and never gives it back."""
    db = stock(database_url)
    await db.connect()
    try:
        with pytest.raises(ValueError):
            async with db.transaction(isolation="bogus"):
                pass
        with pytest.raises(TimeoutError):  # the pool's one connection is still taken
            await asyncio.wait_for(asyncio.create_task(db.fetch_val("SELECT 1")), 1)
    finally:
        with pytest.raises(TimeoutError):  # closing waits for it too (then, cut short, terminates the pool)
            await asyncio.wait_for(db.disconnect(), 1)


async def test_the_pool_gives_back_the_connection_of_a_transaction_that_could_not_begin(database_url: str) -> None:
    db = create_database(database_url, pool_size=1)
    await db.connect()
    try:
        with pytest.raises(ValueError):
            async with db.transaction(isolation="bogus"):
                pass
        assert await asyncio.wait_for(asyncio.create_task(db.fetch_val("SELECT 1")), 5) == 1
    finally:
        await db.disconnect()


async def end_own_session_mid_transaction(db: Database, admin: asyncpg.Connection) -> BaseException:
    """Inside a transaction the server ends the session; returns what the transaction raised."""
    with pytest.raises(Exception) as raised:
        async with db.transaction():
            pid = await db.fetch_val("SELECT pg_backend_pid()")
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await eventually(lambda: admin.fetchval("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1", pid))
            await db.fetch_val("SELECT 1")
    return raised.value


async def test_stock_databases_leaves_a_task_on_a_connection_the_server_ended(
    database_url: str, db: asyncpg.Connection
) -> None:
    """The ROLLBACK fails, the stock Transaction skips the release, and the task keeps the dead connection."""
    pool = stock(database_url)
    await pool.connect()
    try:
        await end_own_session_mid_transaction(pool, db)
        # The task is still bound to the dead connection: asyncpg says so one way or the other,
        # depending on whether the pool had taken the connection back yet.
        with pytest.raises(asyncpg.InterfaceError, match=r"released back to the pool|connection is closed"):
            await pool.fetch_val("SELECT 1")
    finally:
        # Closing may wait for the connection the task never gave back; cut short, it terminates the pool.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pool.disconnect(), 2)


async def test_the_pool_gives_a_task_a_new_connection_after_the_server_ended_its_own(
    database_url: str, db: asyncpg.Connection
) -> None:
    pool = create_database(database_url, pool_size=1)
    await pool.connect()
    try:
        raised = await end_own_session_mid_transaction(pool, db)
        assert isinstance(raised, asyncpg.PostgresConnectionError | asyncpg.InterfaceError), raised
        assert await pool.fetch_val("SELECT 1") == 1
    finally:
        await pool.disconnect()
