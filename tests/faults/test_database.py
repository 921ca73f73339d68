"""The database drops every connection (as a managed PostgreSQL does on failover): nothing half-done, all recovers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from fulfil.imports.jobs import run_resuming
from fulfil.imports.schemas import FINAL_STATUSES
from fulfil.resources import Resources, open_resources
from fulfil.settings import Settings
from tests.support.access import token_headers
from tests.support.databases import fresh_database
from tests.support.imports import csv_bytes, upload, wait_rows_done
from tests.support.live import LiveServer, start_live_server
from tests.support.private_servers import PrivateRedis, private_postgres
from tests.support.products import create, events
from tests.support.receivers import Receiver
from tests.support.sse import follow_to_end
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook

pytestmark = pytest.mark.slow

BROKEN_POOL = ("another operation", "released back to the pool")
RECOVERY_SECONDS = 5  # everything works again within this long of the server accepting connections
POOL_SIZE = 10  # Settings.db_pool_size's default, which the tests keep


async def terminate_backends(db: asyncpg.Connection) -> int:
    """End every other session on the test's database, as a failover does; returns how many."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


def answered_or_unavailable(response: httpx.Response, ok: int = 200) -> bool:
    """True for `ok`, False for a 503 naming the database; anything else fails the test."""
    if response.status_code == 503:
        assert "database" in response.json()["error"]["message"].lower(), response.text
        return False
    assert response.status_code == ok, response.text
    return True


async def pool_is_sound(client: httpx.AsyncClient) -> bool:
    """Twice as many reads at once as the pool has connections, so each connection serves one: all answer."""
    reads = (client.get("/api/products", params={"page_size": 1}) for _ in range(2 * POOL_SIZE))
    replies = await asyncio.gather(*reads)
    return all(answered_or_unavailable(reply) for reply in replies)


def pool_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if any(text in r.getMessage() for text in BROKEN_POOL)] + [
        r.exc_text or "" for r in caplog.records if r.exc_text and any(text in r.exc_text for text in BROKEN_POOL)
    ]


async def final_snapshot(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's final snapshot, polling through the outage: meanwhile a reply is a 200 or a 503 naming the database."""

    async def final() -> dict[str, Any] | None:
        response = await client.get(f"/api/upload/{job_id}/progress")
        if response.status_code == 503:
            assert "database" in response.json()["error"]["message"].lower()
            return None
        assert response.status_code == 200, response.text
        snapshot: dict[str, Any] = response.json()
        return snapshot if snapshot["status"] in FINAL_STATUSES else None

    return await eventually(final, within=60, what=f"import {job_id} finished")  # type: ignore[no-any-return]


async def test_terminated_connections_mid_import_end_with_exact_counts(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id = (await upload(client, csv_bytes([[f"T-{i}", f"P {i}", "d"] for i in range(6000)])))["job_id"]
    watchers = [asyncio.create_task(follow_to_end(client, job_id)) for _ in range(3)]
    try:
        await wait_rows_done(client, job_id, 500)
        assert await terminate_backends(db) > 0
        final = await final_snapshot(client, job_id)
        streams = await asyncio.gather(*watchers)
    finally:
        for watcher in watchers:
            watcher.cancel()
    assert (final["status"], final["created"], final["rows_done"]) == ("completed", 6000, 6000), final
    assert await db.fetchval("SELECT count(*) FROM product") == 6000
    for stream in streams:
        assert stream.events[-1][1]["status"] == "completed"
    assert pool_errors(caplog) == []


async def test_terminated_connections_mid_product_writes_leave_no_write_half_applied(
    client: httpx.AsyncClient, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ids = [(await create(client, f"W-{n}"))["id"] for n in range(8)]
    answers: dict[int, list[tuple[str, bool]]] = {product_id: [] for product_id in ids}
    stop = asyncio.Event()

    async def writer(product_id: int) -> None:
        while not stop.is_set():
            name = f"v{len(answers[product_id])}"
            response = await client.put(f"/api/products/{product_id}", json={"name": name})
            answers[product_id].append((name, answered_or_unavailable(response)))

    writers = [asyncio.create_task(writer(product_id)) for product_id in ids]
    try:
        await eventually(lambda: all(len(a) >= 5 for a in answers.values()), what="writes under way")
        assert await terminate_backends(db) > 0
        cut = {product_id: len(a) for product_id, a in answers.items()}
        cut_at = time.monotonic()
        await eventually(
            lambda: all(any(ok for _, ok in a[cut[pid] + 1 :]) for pid, a in answers.items()),
            within=RECOVERY_SECONDS,
            what="every writer's writes succeed again",
        )
        recovered = time.monotonic() - cut_at
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert await pool_is_sound(client)

    updates: dict[int, list[str]] = {product_id: [] for product_id in ids}
    for event_type, payload in await events(db):
        if event_type == "product.updated":
            updates[payload["data"]["id"]].append(payload["data"]["name"])
    for product_id, sent in answers.items():
        announced = updates[product_id]
        assert len(announced) == len(set(announced)), "no write announced twice"
        assert {name for name, ok in sent if ok} <= set(announced), "every write answered 200 has its event"
        assert set(announced) <= {name for name, _ in sent}, "no event without its write"
        current = await db.fetchval("SELECT name FROM product WHERE id = $1", product_id)
        assert current == announced[-1], "the row is the last write announced"
    unavailable = sum(not ok for sent in answers.values() for _, ok in sent)
    print(f"{unavailable} writes answered 503; writes succeeded again {recovered:.2f} s after the cut")
    assert pool_errors(caplog) == []


async def test_terminated_connections_mid_delivery_lose_no_event_and_send_none_twice(
    client: httpx.AsyncClient, db: asyncpg.Connection, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await create_webhook(client, receiver.url)
    receiver.hold()  # the first deliveries stay in flight while the connections go
    for n in range(10):
        await create(client, f"H-{n}")
    await receiver.wait_for(1)
    assert await terminate_backends(db) > 0
    cut_at = time.monotonic()
    receiver.release()
    made = 10
    while made < 20:  # more changes while the pool recovers: each is created (201) or refused (503)
        response = await client.post("/api/products", json={"sku": f"H-{made}", "name": "P"})
        made += answered_or_unavailable(response, ok=201)
    recovered = time.monotonic() - cut_at

    async def all_delivered() -> bool:
        pending = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE status <> 'delivered'")
        return pending == 0 and await db.fetchval("SELECT count(*) FROM webhook_delivery") == 20

    await eventually(all_delivered, within=30, what="every delivery recorded as delivered")
    await receiver.wait_for(20)
    per_message = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(per_message) == 20 and set(per_message.values()) == {1}, per_message
    assert await db.fetchval("SELECT max(attempt_count) FROM webhook_delivery") == 1
    assert recovered <= RECOVERY_SECONDS
    assert await pool_is_sound(client)
    assert pool_errors(caplog) == []
    print(f"10 more changes made {recovered:.2f} s after the cut; 20 deliveries, each sent once")


async def test_a_database_restart_mid_import_resumes_after_the_last_committed_batch(
    settings: Settings, own_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with private_postgres() as server:
        url = await fresh_database(server.url(), "fulfil", migrate=True)
        live = await start_live_server(settings.model_copy(update={"database_url": url, "redis_url": own_redis.url}))
        try:
            async with httpx.AsyncClient(
                base_url=live.url, timeout=30, headers=await token_headers(live.resources.db)
            ) as client:
                job_id = (await upload(client, csv_bytes([[f"R-{i}", f"P {i}", "d"] for i in range(6000)])))["job_id"]
                watchers = [asyncio.create_task(follow_to_end(client, job_id)) for _ in range(3)]
                await wait_rows_done(client, job_id, 500)
                await server.stop()
                assert not answered_or_unavailable(await client.get("/api/products"))
                await server.start()
                back = time.monotonic()
                await eventually(lambda: pool_is_sound(client), within=RECOVERY_SECONDS, what="requests answered")
                before = (await client.get(f"/api/upload/{job_id}/progress")).json()["rows_done"]

                async def advanced() -> bool:
                    snapshot = (await client.get(f"/api/upload/{job_id}/progress")).json()
                    return snapshot["rows_done"] > before or snapshot["status"] in FINAL_STATUSES

                await eventually(advanced, within=RECOVERY_SECONDS - (time.monotonic() - back), what="import resumed")
                recovered = time.monotonic() - back
                final = await final_snapshot(client, job_id)
                streams = await asyncio.gather(*watchers)
            assert (final["status"], final["created"], final["rows_done"]) == ("completed", 6000, 6000), final
            conn = await asyncpg.connect(url)
            try:
                assert await conn.fetchval("SELECT count(*) FROM product") == 6000
            finally:
                await conn.close()
            for stream in streams:
                assert stream.events[-1][1]["status"] == "completed"
            resumed = [r.getMessage() for r in caplog.records if "resumes after line" in r.getMessage()]
            assert resumed and "after line 0" not in resumed[-1], resumed
            assert recovered <= RECOVERY_SECONDS
            assert pool_errors(caplog) == []
            print(f"requests answered and the import moving again {recovered:.2f} s after PostgreSQL came back")
        finally:
            await live.stop()


FULL_SERVER = "-c max_connections=6 -c superuser_reserved_connections=0"  # superusers get no slot kept


async def take_every_connection(url: str, hogs: list[asyncpg.Connection]) -> None:
    """Open connections into `hogs` until the server turns one away ("too many clients")."""
    with pytest.raises(asyncpg.TooManyConnectionsError):
        while True:
            hogs.append(await asyncpg.connect(url))


async def test_a_job_turned_away_by_a_full_server_waits_for_a_connection(
    settings: Settings, own_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """A server at max_connections refuses the job's own connection ("too many clients"): the job
    waits and runs once one is free, and a request that needs a new connection is a 503."""
    async with private_postgres(FULL_SERVER) as server:
        url = await fresh_database(server.url(), "fulfil", migrate=True)
        resources = await open_resources(settings.model_copy(update={"database_url": url, "redis_url": own_redis.url}))
        hogs: list[asyncpg.Connection] = []
        try:
            await take_every_connection(url, hogs)

            async def run(resources: Resources, conn: asyncpg.Connection, uid: UUID) -> str:
                return f"ran {uid} on backend {conn.get_server_pid()}"

            job_id = str(uuid4())
            job = asyncio.create_task(run_resuming(resources, job_id, run))
            await eventually(lambda: "turned away" in caplog.text, within=10, what="the job turned away")
            assert not job.done()
            await hogs.pop().close()
            assert (await asyncio.wait_for(job, 30)).startswith(f"ran {job_id}")
        finally:
            for hog in hogs:
                await hog.close()
            await resources.close()


async def test_a_request_turned_away_by_a_full_server_is_a_503(settings: Settings, own_redis: PrivateRedis) -> None:
    async with private_postgres(FULL_SERVER) as server:
        url = await fresh_database(server.url(), "fulfil", migrate=True)
        live = await start_live_server(settings.model_copy(update={"database_url": url, "redis_url": own_redis.url}))
        hogs: list[asyncpg.Connection] = []
        try:
            headers = await token_headers(live.resources.db)
            async with httpx.AsyncClient(base_url=live.url, timeout=30, headers=headers) as client:
                await take_every_connection(url, hogs)
                # The pool's open connections still serve; the ones it would add are turned away.
                answers = await asyncio.gather(*(client.get("/api/products") for _ in range(20)))
                statuses = Counter(r.status_code for r in answers)
                assert set(statuses) <= {200, 503} and statuses[503] > 0, statuses
                refused = next(r for r in answers if r.status_code == 503)
                assert "database" in refused.json()["error"]["message"]
                for hog in hogs:
                    await hog.close()
                hogs.clear()

                async def answered() -> bool:
                    return (await client.get("/api/products")).status_code == 200

                await eventually(answered, within=RECOVERY_SECONDS, what="requests answered")
        finally:
            for hog in hogs:
                await hog.close()
            await live.stop()
