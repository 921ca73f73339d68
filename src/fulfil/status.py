"""`fulfil status`: what a deployment of many processes is doing, read from Redis and PostgreSQL.

The workers alive (their heartbeats, fulfil.heartbeat), the job queue's length, the running
imports and the webhook deliveries still to make.
"""

from __future__ import annotations

import time
from typing import Any

from fulfil.db import connect_raw
from fulfil.heartbeat import live_workers
from fulfil.imports import queries as import_queries
from fulfil.queue import QUEUE_NAME
from fulfil.redis import create_redis
from fulfil.webhooks import queries as webhook_queries


async def collect(database_url: str, redis_url: str) -> dict[str, Any]:
    """The deployment's state as one JSON-ready dict."""
    redis = create_redis(redis_url)
    conn = await connect_raw(database_url)
    try:
        workers = await live_workers(redis)
        queue_depth = await redis.zcard(QUEUE_NAME)
        running = await conn.fetch(import_queries.RUNNING_IMPORTS)
        queued = await conn.fetchval(import_queries.COUNT_QUEUED)
        pending = await conn.fetchrow(webhook_queries.COUNT_PENDING)
    finally:
        await conn.close()
        await redis.aclose()
    return {
        "workers": workers,
        "queue_depth": queue_depth,
        "imports_running": [
            {**dict(row), "id": str(row["id"]), "started_at": row["started_at"].isoformat()} for row in running
        ],
        "imports_queued": queued,
        "deliveries_pending": pending["deliveries"],
        "events_unrelayed": pending["events"],
    }


def render(status: dict[str, Any]) -> str:
    """`fulfil status` as an operator reads it."""
    now = time.time()
    lines = [f"workers alive: {len(status['workers'])}"]
    for beat in status["workers"]:
        age = now - beat["seen_at"]
        lines.append(f"  {beat['process']} ({beat['role']}), up {now - beat['started_at']:.0f} s, seen {age:.0f} s ago")
    lines.append(f"jobs in the queue: {status['queue_depth']}")
    lines.append(f"imports running: {len(status['imports_running'])}, queued: {status['imports_queued']}")
    for job in status["imports_running"]:
        total = f" of {job['rows_total']:,}" if job["rows_total"] is not None else ""
        lines.append(
            f"  {job['id']} {job['filename']}: {job['rows_done']:,}{total} rows, "
            f"{job['bytes_done']:,} of {job['bytes_total']:,} bytes, attempt {job['attempts']}"
        )
    lines.append(
        f"webhook deliveries pending: {status['deliveries_pending']}, "
        f"events not yet relayed: {status['events_unrelayed']}"
    )
    return "\n".join(lines)
