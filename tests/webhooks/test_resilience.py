"""Delivery survives Redis outages, the API never waits on a receiver, production refuses internal addresses."""

from __future__ import annotations

import asyncpg
import httpx
from arq.connections import ArqRedis  # only to stand in for the app's queue pointing at a dead Redis

from fulfil.settings import Settings
from tests.support.access import token_headers
from tests.support.live import LiveServer, start_live_server
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook, deliveries


async def test_events_written_while_redis_is_down_are_delivered_once_it_is_back(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, receiver.url)
    resources = live_server.resources
    await live_server.stop_worker()  # the worker cannot run without Redis either
    working = resources.queue
    resources.queue = ArqRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        for n in range(3):
            response = await client.post("/api/products", json={"sku": f"SKU-{n}", "name": "Product"})
            assert response.status_code == 201
    finally:
        await resources.queue.aclose()
        resources.queue = working
    assert await db.fetchval("SELECT count(*) FROM webhook_event WHERE relayed_at IS NULL") == 3
    assert receiver.received == []

    live_server.start_worker()  # Redis is back: the sweep relays them
    received = await receiver.wait_for(3)
    assert sorted(r.json["data"]["sku"] for r in received) == ["SKU-0", "SKU-1", "SKU-2"]
    await eventually(lambda: db.fetchval("SELECT count(*) = 3 FROM webhook_delivery WHERE status = 'delivered'"))
    assert await db.fetchval("SELECT sum(attempt_count) FROM webhook_delivery") == 3  # once each
    assert len(receiver.received) == 3
    assert len(await deliveries(client, hook["id"])) == 3


async def test_product_writes_never_wait_for_a_receiver(
    client: httpx.AsyncClient, receiver: Receiver, db: asyncpg.Connection
) -> None:
    """While a receiver holds its deliveries open, unanswered, the API goes on writing products."""
    await create_webhook(client, receiver.url, timeout=30)
    receiver.hold()
    response = await client.post("/api/products", json={"sku": "FIRST", "name": "Product"})
    assert response.status_code == 201
    await receiver.wait_for(1)  # its delivery is now stuck at the receiver
    for n in range(5):
        response = await client.post("/api/products", json={"sku": f"MORE-{n}", "name": "Product"})
        assert response.status_code == 201
    assert receiver.answered == 0, "every product was written while the receiver had answered nothing"

    receiver.release()
    await eventually(lambda: db.fetchval("SELECT count(*) = 6 FROM webhook_delivery WHERE status = 'delivered'"))


async def production(settings: Settings, **overrides: object) -> LiveServer:
    return await start_live_server(settings.model_copy(update={"environment": "production", **overrides}))


async def test_production_refuses_loopback_receivers_after_dns_resolution(
    settings: Settings, receiver: Receiver
) -> None:
    live = await production(settings)
    try:
        async with httpx.AsyncClient(base_url=live.url, headers=await token_headers(live.resources.db)) as client:
            port = receiver.url.split(":")[2].split("/")[0]
            for url in (receiver.url, f"http://localhost:{port}/hook"):  # an IP literal, and a name resolving to it
                hook = await create_webhook(client, url, retry_count=3)
                result = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
                assert result["ok"] is False
                assert "blocked by the outbound policy" in result["error"]
                assert "loopback" in result["error"]

            response = await client.post("/api/products", json={"sku": "SKU-1", "name": "Product"})
            assert response.status_code == 201

            async def failed() -> list | None:
                items = await deliveries(client, hook["id"])
                return (
                    items
                    if any(d["event_type"] == "product.created" and d["status"] == "failed" for d in items)
                    else None
                )

            items = await eventually(failed)
            blocked = next(d for d in items if d["event_type"] == "product.created")
            assert len(blocked["attempts"]) == 1  # a refused address is not retried
            assert "blocked" in blocked["last_error"]
        assert receiver.received == []
    finally:
        await live.stop()


async def test_production_allows_networks_listed_as_exceptions(settings: Settings, receiver: Receiver) -> None:
    live = await production(settings, webhook_allowed_networks="127.0.0.0/8, ::1/128")
    try:
        async with httpx.AsyncClient(base_url=live.url, headers=await token_headers(live.resources.db)) as client:
            hook = await create_webhook(client, receiver.url)
            result = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
            assert result["ok"] is True, result
            # An allowed internal receiver's reply is not read back to the caller in production.
            assert result["response_excerpt"].startswith("(not shown")
        assert len(receiver.received) == 1
    finally:
        await live.stop()
