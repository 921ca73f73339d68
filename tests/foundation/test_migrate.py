"""The migration runner: idempotent, safe to start twice at once, strict about edited files."""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from fulfil.db import connect_raw
from fulfil.migrate import MigrationError, apply_migrations, discover
from tests.support.databases import Servers, drop_database, fresh_database


@pytest.fixture
async def empty_db(servers: Servers) -> AsyncIterator[str]:
    """A database with nothing in it (named per process, so two suites on one server never share it)."""
    name = f"fulfil_migrate_{os.getpid()}"
    yield await fresh_database(servers.admin_url, name)
    await drop_database(servers.admin_url, name)


async def test_second_run_applies_nothing(empty_db: str) -> None:
    conn = await connect_raw(empty_db)
    try:
        first = await apply_migrations(conn)
        second = await apply_migrations(conn)
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migration")
    finally:
        await conn.close()
    assert first == [m.name for m in discover()]
    assert second == []
    assert recorded == len(first)


async def test_two_runners_at_once_take_turns(empty_db: str) -> None:
    conns = [await connect_raw(empty_db) for _ in range(2)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        tables = await conns[0].fetchval("SELECT count(*) FROM pg_tables WHERE tablename = 'product'")
    finally:
        for conn in conns:
            await conn.close()
    assert sorted(len(r) for r in results) == [0, len(discover())]
    assert tables == 1


async def test_an_edited_applied_migration_is_an_error(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE t (id int);")
    conn = await connect_raw(empty_db)
    try:
        assert await apply_migrations(conn, tmp_path) == ["0001_first.sql"]
        (tmp_path / "0001_first.sql").write_text("CREATE TABLE t (id bigint);")
        with pytest.raises(MigrationError, match=r"0001_first\.sql was changed after it was applied"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (id int); SELECT no_such_function();")
    conn = await connect_raw(empty_db)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, tmp_path)
        versions = await conn.fetch("SELECT version FROM schema_migration")
        b_exists = await conn.fetchval("SELECT to_regclass('b') IS NOT NULL")
    finally:
        await conn.close()
    assert [v["version"] for v in versions] == [1]
    assert b_exists is False


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"init\.sql: migration files are named NNNN_slug\.sql"):
        discover(tmp_path)
