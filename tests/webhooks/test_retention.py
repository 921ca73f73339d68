"""Finished deliveries older than HISTORY_RETENTION_DAYS are forgotten; pending ones never are."""

import asyncpg
import httpx

from fulfil.webhooks.jobs import prune_webhook_history
from tests.support.live import LiveServer
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook, deliveries


async def test_old_finished_deliveries_and_their_events_go(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, receiver.url)
    for sku in ("OLD-1", "NEW-1"):
        assert (await client.post("/api/products", json={"sku": sku, "name": sku})).status_code == 201
    await receiver.wait_for(2)
    await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM webhook_delivery WHERE status = 'delivered'"))
    old_event = await db.fetchval("SELECT id FROM webhook_event WHERE payload->'data'->>'sku' = 'OLD-1'")
    await db.execute(
        "UPDATE webhook_delivery SET finished_at = now() - interval '31 days' WHERE event_id = $1", old_event
    )
    await db.execute("UPDATE webhook_event SET relayed_at = now() - interval '31 days' WHERE id = $1", old_event)
    await db.execute(
        "INSERT INTO webhook_event (event_type, payload, relayed_at)"
        " VALUES ('product.created', '{}', now() - interval '40 days')"
    )

    result = await prune_webhook_history({"resources": live_server.resources})

    assert result == "1 deliveries and 2 events older than 30 days removed"
    (kept,) = await deliveries(client, hook["id"])
    assert kept["payload"]["data"]["sku"] == "NEW-1"
    assert await db.fetchval("SELECT count(*) FROM webhook_event") == 1


async def test_a_pending_delivery_is_never_pruned(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    receiver.default = (500, "down", {})
    await create_webhook(client, receiver.url, retry_count=5)
    assert (await client.post("/api/products", json={"sku": "P-1", "name": "Pending"})).status_code == 201
    await receiver.wait_for(1)
    await db.execute(
        "UPDATE webhook_delivery SET created_at = now() - interval '90 days', finished_at = NULL;"
        " UPDATE webhook_event SET relayed_at = now() - interval '90 days'"
    )

    assert await prune_webhook_history({"resources": live_server.resources}) == (
        "0 deliveries and 0 events older than 30 days removed"
    )
    assert await db.fetchval("SELECT status FROM webhook_delivery") == "pending"
