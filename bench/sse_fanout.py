"""SSE fan-out: 1,000 browsers watching one import, and how long the final event takes to reach them all.

Starts the service (`python -m fulfil serve`, a real process) on a database of its own (DATABASE_URL,
else postgresql://postgres@127.0.0.1:5432/test, used as admin), makes a running import job, opens N
SSE streams on it (default 1,000) and waits until each has its first snapshot. Then it publishes the
job's final snapshot the way the job does (`fulfil.imports.progress.publish`) and times, from just
before that call, the arrival of the final event at every client. The floor is the same publication
reaching one plain Redis subscriber in this process (no HTTP, no fan-out).

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/sse_fanout.py [--clients N]

Target: the last client has the final event <= 1 s after publication.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from redis.asyncio import Redis

from fulfil.imports import queries
from fulfil.imports.progress import CHANNEL, publish, snapshot_of

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/13"
DB_NAME = "fulfil_bench_sse"
SNAPSHOT = f"SELECT {queries.SNAPSHOT_COLUMNS} FROM import_job WHERE id = $1"


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    """One browser: reads the stream, notes when its first event and the final one arrive."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.final_at: float | None = None

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=300)) as response:
            assert response.status == 200, await response.text()
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                if '"status":"completed"' in line:
                    self.final_at = time.perf_counter()
                    return
                self.connected.set()


async def floor_latency(redis: Redis, job_id: uuid.UUID, conn: asyncpg.Connection) -> float:
    """Publication to arrival at one plain subscriber of the channel, in seconds (median of 20)."""
    samples = []
    async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(CHANNEL)
        snapshot = snapshot_of(await conn.fetchrow(SNAPSHOT, job_id))
        for _ in range(20):
            started = time.perf_counter()
            await publish(redis, snapshot)
            while await pubsub.get_message(timeout=5) is None:
                pass
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def wait_for_health(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("the service exited during start-up")
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("the service did not become healthy")


async def measure(url: str, count: int) -> dict[str, float]:
    conn = await asyncpg.connect(database_url())
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    job_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO import_job (id, filename, file_path, status, phase, started_at, heartbeat_at, version)"
        " VALUES ($1, 'fanout.csv', '/nonexistent', 'running', 'importing', now(), now(), 1)",
        job_id,
    )
    # Hold the job's session lock, as a live import would, so the recovery sweep leaves it alone.
    await conn.execute(f"SELECT pg_advisory_lock({queries.LOCK_NAMESPACE}, hashtext($1))", str(job_id))
    await publish(redis, snapshot_of(await conn.fetchrow(SNAPSHOT, job_id)))
    floor = await floor_latency(redis, job_id, conn)

    clients = [Client() for _ in range(count)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        tasks = [asyncio.create_task(c.run(http, f"{url}/api/upload/{job_id}/stream")) for c in clients]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)
        connect_time = time.perf_counter() - started
        await asyncio.sleep(0.5)  # let the server settle before the measured publication

        row = await conn.fetchrow(
            "UPDATE import_job SET status = 'completed', phase = 'finished', finished_at = now(),"
            f" version = version + 1 WHERE id = $1 RETURNING {queries.SNAPSHOT_COLUMNS}",
            job_id,
        )
        published = time.perf_counter()
        await publish(redis, snapshot_of(row))
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    arrivals = sorted(c.final_at - published for c in clients if c.final_at is not None)
    await redis.aclose()
    await conn.close()
    return {
        "clients": len(arrivals),
        "connect": connect_time,
        "floor": floor,
        "first": arrivals[0],
        "p50": statistics.median(arrivals),
        "p95": statistics.quantiles(arrivals, n=20)[-1],
        "last": arrivals[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 256)), hard))

    asyncio.run(admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
    asyncio.run(admin(f"CREATE DATABASE {DB_NAME}"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": REDIS_URL, "LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "fulfil", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        asyncio.run(wait_for_health(url, proc))
        r = asyncio.run(measure(url, args.clients))
    finally:
        proc.terminate()
        proc.wait(30)
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))

    connected = f"all {args.clients:,} connected in {r['connect']:.2f} s"
    print(f"\nSSE fan-out: {r['clients']:,} clients on one import ({connected})\n")
    print(f"{'measure (ms after the final publication)':<48}{'value':>10}{'floor':>10}{'ratio':>10}{'target':>10}")
    floor_ms = r["floor"] * 1000
    for name, key in (("first client", "first"), ("median client", "p50"), ("p95 client", "p95")):
        print(f"{name:<48}{r[key] * 1000:>10.1f}{floor_ms:>10.2f}{r[key] / r['floor']:>9.0f}x")
    print(
        f"{'last client':<48}{r['last'] * 1000:>10.1f}{floor_ms:>10.2f}{r['last'] / r['floor']:>9.0f}x{'<= 1000':>10}"
    )
    print("\nfloor: the same publication reaching one plain Redis subscriber in this process (median of 20)")


if __name__ == "__main__":
    main()
