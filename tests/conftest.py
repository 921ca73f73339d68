"""Fixtures every test uses: real PostgreSQL and Redis, a clean database per test, a live server.

With DATABASE_URL / REDIS_URL set (as .ci/run does) the suite uses those servers; without, it
starts the embedded ones under `.pytest-data/`. Each test gets a fresh database cloned from a
migrated template and an empty Redis database. The helpers these fixtures call, and that tests
call directly, are in `tests/support/`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from fulfil.db import connect_raw
from fulfil.embedded import EmbeddedServers, start_postgres, start_redis
from fulfil.settings import Settings, load_settings
from tests.support.access import token_headers
from tests.support.databases import Servers, drop_database, empty_redis, fresh_database, redis_db_url
from tests.support.live import LiveServer, start_live_server
from tests.support.processes import ROOT

DATA = ROOT / ".pytest-data"
_counter = itertools.count()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    embedded = EmbeddedServers()
    admin_url = os.environ.get("DATABASE_URL") or start_postgres(DATA, embedded)
    redis_url = os.environ.get("REDIS_URL") or start_redis(DATA, embedded)
    yield Servers(admin_url=admin_url, redis_url=redis_url)
    embedded.stop()


@pytest.fixture(scope="session")
async def template_db(servers: Servers) -> AsyncIterator[str]:
    """A migrated database that each test's database is cloned from (much faster than migrating)."""
    name = f"fulfil_tpl_{os.getpid()}"
    await fresh_database(servers.admin_url, name, migrate=True)
    yield name
    await drop_database(servers.admin_url, name)


@pytest.fixture
async def database_url(servers: Servers, template_db: str) -> AsyncIterator[str]:
    name = f"fulfil_t_{os.getpid()}_{next(_counter)}"
    yield await fresh_database(servers.admin_url, name, template=template_db)
    await drop_database(servers.admin_url, name)


@pytest.fixture
async def redis_url(servers: Servers) -> AsyncIterator[str]:
    """An empty Redis database (TEST_REDIS_DB picks which, so two suites can run side by side)."""
    url = redis_db_url(servers.redis_url, int(os.environ.get("TEST_REDIS_DB", "9")))
    await empty_redis(url)
    yield url
    await empty_redis(url)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        upload_dir=tmp_path / "uploads",
        environment="test",
        migrate_on_start=False,
        webhook_retry_base_seconds=0.2,
        webhook_retry_max_seconds=2,
        _env_file=None,
    )


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = await start_live_server(settings)
    yield live
    await live.stop()


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The live server, called with an admin's API token."""
    headers = await token_headers(live_server.resources.db)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30, headers=headers) as http:
        yield http


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for checking what the service stored."""
    conn = await connect_raw(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
