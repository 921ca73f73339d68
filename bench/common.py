"""What the benchmarks share: the servers they use, a Redis database of their own, percentiles.

Each benchmark uses the machine's PostgreSQL at DATABASE_URL (else
postgresql://postgres@127.0.0.1:5432/test) as admin, to make and drop a database of its own, and
its own Redis database number on the server of REDIS_URL (else redis://127.0.0.1:6379), which it
may flush: never the database a service or a test suite uses. Databases, free ports, health waits
and the service process come from `tests.support`, shared with the test suite.

Importing this module puts the checkout on `sys.path`, so `python bench/x.py` run from anywhere
can import `tests.support`: import it before anything from `tests`.

`receiver_process` is a webhook receiver in a process of its own (`python bench/common.py
--receiver PORT`), so counting deliveries takes no time from the process that measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.databases import empty_redis, redis_db_url  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import service_env  # noqa: E402
from tests.support.waiting import wait_for_http  # noqa: E402

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")


async def fresh_redis(db: int) -> str:
    """Empty Redis database number `db` on the server of REDIS_URL (no job of an earlier run left); its URL."""
    url = redis_db_url(REDIS_SERVER, db)
    await empty_redis(url)
    return url


def receiving_service_env(database_url: str, redis_url: str, data_dir: str, **more: str) -> dict[str, str]:
    """The environment of a `fulfil serve` that sends webhooks to a local receiver: a database
    migrated already, warnings only, and development mode, so a receiver on 127.0.0.1 is allowed."""
    return service_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DATA_DIR=data_dir,
        MIGRATE_ON_START="false",
        LOG_LEVEL="warning",
        ENVIRONMENT="development",
        **more,
    )


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of `values`."""
    if len(values) < 2:
        return max(values, default=0.0)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run_receiver(port: int) -> None:
    """Count POSTs per path; `GET /stats/{path}` gives count, distinct webhook-ids, first and last time."""
    seen: dict[str, dict[str, Any]] = {}

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        now = time.time()
        stats = seen.setdefault(request.path, {"count": 0, "first": now, "last": now, "ids": set()})
        stats["count"] += 1
        stats["last"] = now
        stats["ids"].add(request.headers.get("webhook-id"))
        return web.Response(text="ok")

    async def report(request: web.Request) -> web.Response:
        stats = seen.get("/" + request.match_info["path"], {"count": 0, "first": 0, "last": 0, "ids": set()})
        return web.json_response({**stats, "ids": len(stats["ids"])})

    app = web.Application()
    app.router.add_get("/stats/{path}", report)
    app.router.add_post("/{path}", receive)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


@contextlib.contextmanager
def script_process(script: str, *args: str, ready: str) -> Iterator[str]:
    """`python SCRIPT ARGS PORT` (the last of ARGS is the port's flag) in a process of its own on a
    free port of 127.0.0.1, once `ready` answers 200; its URL. Stopped on leaving."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, script, *args, str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(wait_for_http(f"{url}{ready}", proc))
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def receiver_process() -> contextlib.AbstractContextManager[str]:
    """`run_receiver` in a process of its own on a free port, answering; its URL."""
    return script_process(__file__, "--receiver", ready="/stats/none")


async def receiver_stats(receiver: str, path: str) -> dict[str, Any]:
    """What the receiver counted on `path`: count, ids (distinct webhook-ids), first and last (times)."""
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{receiver}/stats/{path}")).json()  # type: ignore[no-any-return]


async def wait_for_receipts(
    receiver: str, path: str, count: int, within: float, counted: str = "count"
) -> dict[str, Any]:
    """The receiver's stats once its `counted` figure for `path` (POSTs, by default) reached
    `count`, or after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = await receiver_stats(receiver, path)
        if got[counted] >= count or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a webhook receiver for the benchmarks")
    parser.add_argument("--receiver", type=int, required=True, help="the port to listen on")
    run_receiver(parser.parse_args().receiver)
