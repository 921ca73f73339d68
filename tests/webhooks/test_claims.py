"""A delivery is sent once even when two jobs race for it, and one whose process died is swept up."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from redis.asyncio import Redis

from fulfil.webhooks import delivery, queries, relay
from tests.support.live import LiveServer
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook


async def test_two_jobs_racing_for_the_same_deliveries_send_each_once(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    await create_webhook(client, receiver.url)
    await live_server.stop_worker()
    for n in range(3):
        await client.post("/api/products", json={"sku": f"SKU-{n}", "name": "Product"})
    resources = live_server.resources
    assert await relay.relay(resources) == 3
    ids = [row["id"] for row in await db.fetch("SELECT id FROM webhook_delivery ORDER BY id")]

    receiver.delay = 0.3  # both jobs are in flight at once
    first, second = await asyncio.gather(delivery.deliver_batch(resources, ids), delivery.deliver_batch(resources, ids))
    assert sorted([first, second]) == ["3 delivered", delivery.NOTHING_DUE]
    assert len(receiver.received) == 3
    assert await db.fetchval("SELECT sum(attempt_count) FROM webhook_delivery") == 3


async def test_a_delivery_claimed_by_a_process_that_died_is_swept_and_sent(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection, redis: Redis
) -> None:
    await create_webhook(client, receiver.url)
    await live_server.stop_worker()
    await client.post("/api/products", json={"sku": "SKU-1", "name": "Product"})
    resources = live_server.resources
    await relay.relay(resources)
    (delivery_id,) = [row["id"] for row in await db.fetch("SELECT id FROM webhook_delivery")]
    claimed = await resources.db.fetch_all(
        queries.CLAIM_DELIVERIES, {"ids": [delivery_id], "lease": delivery.LEASE_SECONDS}
    )
    assert len(claimed) == 1  # ... and then the process holding the claim dies
    assert await delivery.deliver_batch(resources, [delivery_id]) == delivery.NOTHING_DUE  # the claim holds
    assert await relay.sweep(resources) == (0, 0)  # not overdue yet

    await redis.flushdb()  # the dead process's job is gone from the queue too
    await db.execute("UPDATE webhook_delivery SET next_attempt_at = now() - interval '11 seconds'")  # lease ran out
    assert await relay.sweep(resources) == (0, 1)
    live_server.start_worker()
    await receiver.wait_for(1)
    await eventually(lambda: db.fetchval("SELECT status = 'delivered' FROM webhook_delivery"))
    assert await db.fetchval("SELECT attempt_count FROM webhook_delivery") == 1
