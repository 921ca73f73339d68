"""Fixtures every test uses: real PostgreSQL and Redis, a clean database per test, a live server.

With DATABASE_URL / REDIS_URL set (as .ci/run does) the suite uses those servers; without, it
starts the embedded ones under `.pytest-data/`. Each test gets a fresh database cloned from a
migrated template and an empty Redis database.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette

from fulfil.app import create_app
from fulfil.db import connect_raw
from fulfil.embedded import EmbeddedServers, start_postgres, start_redis
from fulfil.migrate import apply_migrations
from fulfil.resources import Resources
from fulfil.settings import Settings, load_settings
from fulfil.state import app_state
from fulfil.worker import start_in_process

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".pytest-data"
_counter = itertools.count()


@dataclass
class Servers:
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


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    embedded = EmbeddedServers()
    admin_url = os.environ.get("DATABASE_URL") or start_postgres(DATA, embedded)
    redis_url = os.environ.get("REDIS_URL") or start_redis(DATA, embedded)
    yield Servers(admin_url=admin_url, redis_url=redis_url)
    embedded.stop()


async def _admin(servers: Servers, sql: str) -> None:
    conn = await connect_raw(servers.admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(servers: Servers) -> AsyncIterator[str]:
    """A migrated database that each test's database is cloned from (much faster than migrating)."""
    name = f"fulfil_tpl_{os.getpid()}"
    await _admin(servers, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await _admin(servers, f"CREATE DATABASE {name}")
    conn = await connect_raw(with_database(servers.admin_url, name))
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield name
    await _admin(servers, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def database_url(servers: Servers, template_db: str) -> AsyncIterator[str]:
    name = f"fulfil_t_{os.getpid()}_{next(_counter)}"
    await _admin(servers, f"CREATE DATABASE {name} TEMPLATE {template_db}")
    yield with_database(servers.admin_url, name)
    await _admin(servers, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def redis_url(servers: Servers) -> AsyncIterator[str]:
    """An empty Redis database (TEST_REDIS_DB picks which, so two suites can run side by side)."""
    url = redis_db_url(servers.redis_url, int(os.environ.get("TEST_REDIS_DB", "9")))
    client = Redis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


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


def free_port() -> int:
    """A port that was free a moment ago, for a subprocess told which port to use."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bound_socket() -> socket.socket:
    """A socket bound to a free port and kept: no other process can take the port before we listen on it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def eventually(check: Callable[[], Any], within: float = 10, every: float = 0.05) -> Any:
    """Call `check()` (awaiting it if it is async) until it returns something truthy; fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s (last: {result!r})")
        await asyncio.sleep(every)


@dataclass
class Received:
    """One request as a test's webhook receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LiveServer:
    """The app served by uvicorn on a free port, in the test's own event loop."""

    url: str
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def resources(self) -> Resources:
        return app_state(self.app).opened

    async def stop_worker(self) -> None:
        """Stop the in-process worker at once: no job runs and no periodic sweep fires until start_worker."""
        worker = app_state(self.app).worker
        assert worker is not None
        await worker.drain(0)

    def start_worker(self) -> None:
        app_state(self.app).worker = start_in_process(self.resources)

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 15)


async def start_live_server(settings: Settings, app: Starlette | None = None) -> LiveServer:
    """Serve `app` (by default the service's app for `settings`) and wait until it takes requests."""
    app = app or create_app(settings)
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started or task.done(), within=20, every=0.02)
    if task.done():
        task.result()
        raise RuntimeError("the test server stopped during start-up")
    return LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, task=task)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = await start_live_server(settings)
    yield live
    await live.stop()


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
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


def service_env(**overrides: Any) -> dict[str, str]:
    """The environment for a `python -m fulfil` subprocess: ours, less any URL, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


@contextlib.contextmanager
def run_service(*args: str, env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m fulfil ARGS` as a real process; killed if the test leaves it running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fulfil", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def wait_for_health(url: str, within: float = 60) -> httpx.Response:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                response = await http.get(f"{url}/healthz")
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/healthz did not answer 200 within {within:.0f} s")
            await asyncio.sleep(0.2)
