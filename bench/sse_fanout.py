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
import resource
import statistics
import time
import uuid

import aiohttp
import asyncpg
from redis.asyncio import Redis

from common import ADMIN_URL, fresh_redis, percentile
from fulfil.db import connect_raw
from fulfil.imports import queries
from fulfil.imports.progress import CHANNEL, publish, snapshot_of
from tests.support.access import token_headers
from tests.support.databases import drop_database, fresh_database
from tests.support.processes import serve, service_env

DB_NAME = "fulfil_bench_sse"
REDIS_DB = 13
SNAPSHOT = f"SELECT {queries.SNAPSHOT_COLUMNS} FROM import_job WHERE id = $1"


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


async def measure(url: str, count: int, database_url: str, redis_url: str) -> dict[str, float]:
    conn = await connect_raw(database_url)
    redis = Redis.from_url(redis_url, decode_responses=True)
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
    headers = await token_headers(database_url)  # each stream is opened with an API token, as a script would
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
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
        "p95": percentile(arrivals, 95),
        "last": arrivals[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 256)), hard))

    database_url = asyncio.run(fresh_database(ADMIN_URL, DB_NAME))  # the service migrates it at start
    redis_url = asyncio.run(fresh_redis(REDIS_DB))
    try:
        with serve(service_env(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="warning")) as served:
            r = asyncio.run(measure(served.url, args.clients, database_url, redis_url))
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))

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
