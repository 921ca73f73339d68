"""Redis goes away and comes back empty: the worker outlives it and PostgreSQL's truth is re-queued."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from fulfil.queue import create_queue, enqueue
from fulfil.settings import Settings
from fulfil.state import app_state
from fulfil.worker import PING_JOB
from tests.support.access import token_headers
from tests.support.imports import csv_bytes, upload, wait_final, wait_rows_done
from tests.support.live import LiveServer, start_live_server
from tests.support.private_servers import PrivateRedis
from tests.support.processes import run_service, service_env
from tests.support.receivers import Receiver
from tests.support.sse import follow_to_end
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook

pytestmark = pytest.mark.slow

RECOVERY_SECONDS = 10  # everything owed is delivered within this long of Redis accepting connections


async def serve_on(settings: Settings, redis: PrivateRedis) -> LiveServer:
    return await start_live_server(settings.model_copy(update={"redis_url": redis.url}))


def rows(prefix: str, count: int) -> bytes:
    return csv_bytes([[f"{prefix}-{i}", f"Product {i}", "d"] for i in range(count)])


async def healthy(client: httpx.AsyncClient) -> bool:
    return (await client.get("/healthz")).status_code == 200


async def test_the_worker_outlives_a_redis_outage_and_delivers_what_was_written_meanwhile(
    settings: Settings,
    own_redis: PrivateRedis,
    receiver: Receiver,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fulfil")
    live = await serve_on(settings, own_redis)
    try:
        async with httpx.AsyncClient(
            base_url=live.url, timeout=30, headers=await token_headers(live.resources.db)
        ) as client:
            await create_webhook(client, receiver.url)
            assert (await client.post("/api/products", json={"sku": "BEFORE", "name": "P"})).status_code == 201
            await receiver.wait_for(1)
            worker = app_state(live.app).worker
            assert worker is not None

            await own_redis.stop()
            await eventually(lambda: not worker.alive, what="the worker noticed Redis is gone")
            assert (await client.get("/healthz")).status_code == 503
            for n in range(20):
                response = await client.post("/api/products", json={"sku": f"DURING-{n}", "name": "P"})
                assert response.status_code == 201, response.text
            job_id = (await upload(client, rows("UP", 120)))["job_id"]
            assert (await client.get("/api/products?q=DURING-1")).status_code == 200  # reads need no Redis

            await own_redis.start()  # empty: whatever Redis held is gone
            back = time.monotonic()
            await eventually(lambda: healthy(client), within=RECOVERY_SECONDS, what="/healthz back to 200")
            await receiver.wait_for(21, within=RECOVERY_SECONDS - (time.monotonic() - back))
            final = await wait_final(client, job_id, within=RECOVERY_SECONDS - (time.monotonic() - back))
            recovered = time.monotonic() - back
        assert final["status"] == "completed" and final["created"] == 120, final
        assert recovered <= RECOVERY_SECONDS
        assert worker.task is not None and not worker.task.done()
        assert worker.outages >= 1
        await eventually(lambda: db.fetchval("SELECT count(*) = 21 FROM webhook_delivery WHERE status = 'delivered'"))
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == len(set(ids)) == 21, "each event delivered exactly once"
        assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
        print(f"recovered {recovered:.1f} s after Redis returned")
    finally:
        await live.stop()


async def test_a_redis_restart_mid_import_loses_no_job_and_every_stream_sees_the_end(
    settings: Settings, own_redis: PrivateRedis, db: asyncpg.Connection
) -> None:
    live = await serve_on(settings, own_redis)
    try:
        async with httpx.AsyncClient(
            base_url=live.url, timeout=30, headers=await token_headers(live.resources.db)
        ) as client:
            running = (await upload(client, rows("RUN", 6000)))["job_id"]
            watchers = [asyncio.create_task(follow_to_end(client, running)) for _ in range(5)]
            await wait_rows_done(client, running, 500)
            # A second job waits in the queue behind a paused worker, so the restart drops it from Redis.
            worker = app_state(live.app).worker
            assert worker is not None
            worker.worker.allow_pick_jobs = False
            waiting = (await upload(client, rows("WAIT", 300)))["job_id"]

            await own_redis.stop()
            await own_redis.start()
            worker.worker.allow_pick_jobs = True

            first = await wait_final(client, running, within=60)
            second = await wait_final(client, waiting, within=30)
            streams = await asyncio.gather(*watchers)
        assert (first["status"], first["created"], first["rows_done"]) == ("completed", 6000, 6000), first
        assert (second["status"], second["created"]) == ("completed", 300), second
        for stream in streams:
            assert stream.events[-1][1]["status"] == "completed"
            assert stream.events[-1][1]["created"] == 6000
            assert stream.ids == sorted(set(stream.ids))
        assert await db.fetchval("SELECT count(*) FROM product") == 6300
    finally:
        await live.stop()


async def test_fulfil_worker_outlives_a_redis_outage(
    database_url: str, own_redis: PrivateRedis, tmp_path: Path
) -> None:
    log_path = tmp_path / "worker.log"
    env = service_env(DATABASE_URL=database_url, REDIS_URL=own_redis.url, MIGRATE_ON_START="false")
    with log_path.open("w") as log_file, run_service("worker", env=env, stdout=log_file) as proc:
        await eventually(lambda: "waiting for jobs" in log_path.read_text(), within=30, what="worker started")
        await own_redis.stop()
        await eventually(lambda: "lost Redis" in log_path.read_text(), what="the worker noticed Redis is gone")
        await own_redis.start()
        queue = await create_queue(own_redis.url)
        try:
            token = uuid.uuid4().hex
            assert await enqueue(queue, PING_JOB, token)
            ran = await eventually(lambda: queue.get(f"fulfil:ping:{token}"), within=RECOVERY_SECONDS)
            assert ran == b"worker"
        finally:
            await queue.aclose()
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)
    output = log_path.read_text()
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "CRITICAL" not in output, output
