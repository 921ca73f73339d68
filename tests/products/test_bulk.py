"""Bulk delete: refused without confirm=true, one event with the count, never read as a product id."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from fulfil.products import queries
from tests.support.products import create, events


async def test_without_confirm_it_says_how_to_confirm(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create(client, "KEEP")
    for params in ({}, {"confirm": "false"}):
        response = await client.delete("/api/products/bulk", params=params)
        assert response.status_code == 400
        assert "confirm=true" in response.json()["error"]["message"]
    response = await client.delete("/api/products/bulk", params={"confirm": "perhaps"})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "confirm"
    assert await db.fetchval("SELECT count(*) FROM product") == 1


async def test_bulk_delete_deletes_all_with_one_event(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO product (sku, name) SELECT 'B' || i, 'B' FROM generate_series(1, 2500) i")
    response = await client.delete("/api/products/bulk", params={"confirm": "true"})
    assert response.status_code == 200 and response.json() == {"deleted": 2500}
    assert await db.fetchval("SELECT count(*) FROM product") == 0
    [(event_type, payload)] = await events(db)
    assert event_type == "product.bulk_deleted" and payload["data"] == {"count": 2500}
    # Ids are never reused after a bulk delete: webhook receivers may still hold the old ones.
    assert (await create(client, "B1"))["id"] > 2500
    assert (await client.delete("/api/products/bulk?confirm=true")).json() == {"deleted": 1}


async def test_bulk_is_never_taken_for_a_product_id(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/products/bulk")
    assert response.status_code == 400  # the bulk route, not "no product with id 'bulk'"
    for response in (await client.get("/api/products/bulk"), await client.put("/api/products/bulk", json={})):
        assert response.status_code == 405 and response.headers["allow"] == "DELETE"  # no product is at that path


async def test_bulk_delete_gives_way_to_a_running_writer(
    client: httpx.AsyncClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import batch holding the table makes bulk delete answer 409 instead of stalling readers."""
    monkeypatch.setattr(queries, "BULK_DELETE_LOCK_TIMEOUT", "SET LOCAL lock_timeout = '200ms'")
    await create(client, "A")
    writer = db
    async with writer.transaction():
        await writer.execute("INSERT INTO product (sku, name) VALUES ('IMPORTING', 'x')")
        response = await client.delete("/api/products/bulk", params={"confirm": "true"})
        assert response.status_code == 409
        assert "try again" in response.json()["error"]["message"]
        assert (await client.get("/api/products")).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM product") == 2
    assert [t for t, _ in await events(db)] == ["product.created"]
