"""The event feed a receiver catches up from: in order, by cursor, by type, the bytes it was sent,
kept as long as deliveries; and `previous_attributes` on `product.updated`."""

from __future__ import annotations

import json

import asyncpg
import httpx

from fulfil.webhooks.jobs import prune_webhook_history
from tests.support.live import LiveServer
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook


async def feed(client: httpx.AsyncClient, **params: str | int) -> dict:
    response = await client.get("/api/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def relayed(client: httpx.AsyncClient, count: int) -> list[dict]:
    async def check() -> list[dict] | None:
        items = (await feed(client, limit=1000))["items"]
        return items if len(items) >= count else None

    return await eventually(check, what=f"{count} events in the feed")  # type: ignore[no-any-return]


async def test_the_feed_pages_by_cursor_filters_by_type_and_holds_what_receivers_got(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await create_webhook(client, receiver.url)
    created = (await client.post("/api/products", json={"sku": "E-1", "name": "One"})).json()
    await client.post("/api/products", json={"sku": "E-2", "name": "Two"})
    await client.put(f"/api/products/{created['id']}", json={"name": "Uno"})
    await client.delete(f"/api/products/{created['id']}")
    items = await relayed(client, 4)

    assert [item["type"] for item in items] == [
        "product.created",
        "product.created",
        "product.updated",
        "product.deleted",
    ]
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)
    assert set(items[0]) == {"id", "type", "created_at", "payload"}
    got = await receiver.wait_for(4)
    by_sku_and_event = {(r.json["data"]["sku"], r.json["event"]): r.json for r in got}
    for item in items:
        assert by_sku_and_event[(item["payload"]["data"]["sku"], item["type"])] == item["payload"]

    first = await feed(client, limit=1)
    assert [item["id"] for item in first["items"]] == [items[0]["id"]]
    rest = await feed(client, after=first["next_cursor"], limit=2)
    assert [item["id"] for item in rest["items"]] == [items[1]["id"], items[2]["id"]]
    last = await feed(client, after=rest["next_cursor"])
    assert [item["id"] for item in last["items"]] == [items[3]["id"]]
    assert (await feed(client, after=last["next_cursor"])) == {"items": [], "next_cursor": last["next_cursor"]}

    updates = await feed(client, type="product.updated")
    assert [item["id"] for item in updates["items"]] == [items[2]["id"]]


async def test_the_feed_refuses_bad_queries_naming_them(client: httpx.AsyncClient) -> None:
    for params, field in [
        ({"after": "-1"}, "after"),
        ({"after": "abc"}, "after"),
        ({"after": "9" * 40}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"type": "product.exploded"}, "type"),
        ({"cursor": "1"}, "cursor"),
    ]:
        response = await client.get("/api/events", params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in response.text


async def test_events_leave_the_feed_with_their_deliveries(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    await create_webhook(client, receiver.url)
    for sku in ("OLD-1", "NEW-1"):
        await client.post("/api/products", json={"sku": sku, "name": sku})
    await receiver.wait_for(2)
    await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM webhook_delivery WHERE status = 'delivered'"))
    old = await db.fetchval("SELECT id FROM webhook_event WHERE payload->'data'->>'sku' = 'OLD-1'")
    await db.execute("UPDATE webhook_delivery SET finished_at = now() - interval '31 days' WHERE event_id = $1", old)
    await db.execute("UPDATE webhook_event SET relayed_at = now() - interval '31 days' WHERE id = $1", old)

    await prune_webhook_history({"resources": live_server.resources})

    (kept,) = (await feed(client))["items"]
    assert kept["payload"]["data"]["sku"] == "NEW-1"


async def test_product_updated_carries_the_changed_fields_old_values_after_the_seed_keys(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await create_webhook(client, receiver.url)
    product = (await client.post("/api/products", json={"sku": "P-1", "name": "Old", "description": "Same"})).json()
    await client.put(f"/api/products/{product['id']}", json={"name": "New", "description": "Same", "active": False})
    update = next(r for r in await receiver.wait_for(2) if r.json["event"] == "product.updated")
    assert list(update.json) == ["event", "timestamp", "data", "previous_attributes"]
    assert update.json["previous_attributes"] == {"name": "Old", "active": True}
    assert update.json["data"]["name"] == "New"
    assert json.loads(update.body)["data"]["sku"] == "P-1"
