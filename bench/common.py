"""What the benchmarks share: a database and a Redis database of their own, the service, percentiles.

Each benchmark uses the machine's PostgreSQL at DATABASE_URL (else
postgresql://postgres@127.0.0.1:5432/test) as admin, to make and drop a database of its own, and
its own Redis database number on the server of REDIS_URL (else redis://127.0.0.1:6379), which it
may flush: never the database a service or a test suite uses.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from redis.asyncio import Redis

from fulfil.db import connect_raw
from fulfil.migrate import apply_migrations

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")


def database_url(name: str) -> str:
    """The admin URL's server, database `name` (keeps a `?host=` unix socket)."""
    base, _, query = ADMIN_URL.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def fresh_redis(db: int) -> str:
    """Empty Redis database number `db` on the server of REDIS_URL (no job of an earlier run left); its URL."""
    url = urlunsplit(urlsplit(REDIS_SERVER)._replace(path=f"/{db}"))
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    return url


async def admin(sql: str) -> None:
    conn = await connect_raw(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(name: str, *, migrate: bool = True) -> str:
    """Drop and create database `name`, migrated unless told otherwise; returns its URL."""
    await admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin(f"CREATE DATABASE {name}")
    url = database_url(name)
    if migrate:
        conn = await connect_raw(url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
    return url


async def admin_token(url: str) -> dict[str, str]:
    """The Authorization header of a new admin's API token in the database at `url`."""
    from fulfil.access import service
    from fulfil.access.audit import Actor
    from fulfil.access.roles import role_scopes
    from fulfil.db import create_database

    db = create_database(url, 2)
    await db.connect()
    try:
        email = f"bench-{secrets.token_hex(4)}@example.com"  # --reuse keeps the users of earlier runs
        user = await service.create_user(db, email, "a bench password", "admin", Actor(email="bench"))
        created = await service.create_token(
            db, user.id, "bench", sorted(role_scopes("admin")), None, Actor(email="bench")
        )
    finally:
        await db.disconnect()
    return {"Authorization": f"Bearer {created.token}"}


async def drop_database(name: str) -> None:
    await admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_http(url: str, proc: subprocess.Popen[bytes] | None = None, within: float = 60) -> None:
    """Wait until `url` answers 200; fail at once if `proc` (what serves it) exits first."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the process serving {url} exited with {proc.returncode} during start-up")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {within:.0f} s")
            await asyncio.sleep(0.1)


@contextmanager
def serve(port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m fulfil serve` on 127.0.0.1:`port` as a real process, with these variables set."""
    command = [sys.executable, "-m", "fulfil", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of `values`."""
    if len(values) < 2:
        return max(values, default=0.0)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
