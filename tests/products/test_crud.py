"""Create, read, update and delete one product, with the webhook event each change writes."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest

from tests.support.products import create, events

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_create_returns_the_product_as_the_webhook_payload_shows(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post(
        "/api/products", json={"sku": "  SKU-001 ", "name": " Product A ", "description": "Description"}
    )
    assert response.status_code == 201
    product = response.json()
    assert list(product) == ["id", "sku", "name", "description", "active", "created_at", "updated_at"]
    assert product["sku"] == "SKU-001" and product["name"] == "Product A"
    assert product["active"] is True
    assert ISO_UTC.match(product["created_at"]) and ISO_UTC.match(product["updated_at"])
    assert (await client.get(f"/api/products/{product['id']}")).json() == product

    [(event_type, payload)] = await events(db)
    assert event_type == "product.created"
    assert payload["event"] == "product.created" and isinstance(payload["timestamp"], float)
    assert payload["data"] == product


async def test_create_keeps_active_false_and_blank_description_as_null(client: httpx.AsyncClient) -> None:
    product = await create(client, "S-1", active=False, description="   ")
    assert product["active"] is False and product["description"] is None


async def test_sku_is_unique_without_regard_to_case(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    existing = await create(client, "SKU-1")
    response = await client.post("/api/products", json={"sku": "sku-1", "name": "Other"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert f"product {existing['id']}" in error["message"]
    assert error["details"][0]["field"] == "sku" and error["details"][0]["id"] == existing["id"]
    assert await db.fetchval("SELECT count(*) FROM product") == 1
    assert [t for t, _ in await events(db)] == ["product.created"]  # the refused create wrote no event


async def test_create_validation_errors_name_the_field(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cases = [
        ({"name": "No sku"}, "sku", "required"),
        ({"sku": "   ", "name": "Blank sku"}, "sku", "blank"),
        ({"sku": "A", "name": ""}, "name", "blank"),
        ({"sku": "A", "name": "Nul \x00 byte"}, "name", "U+0000"),
        ({"sku": "A\tB", "name": "Tab in sku"}, "sku", "tabs"),
        ({"sku": "x" * 101, "name": "Long sku"}, "sku", "limit is 100"),
        ({"sku": "A", "name": "n" * 256}, "name", "limit is 255"),
        ({"sku": "A", "name": "Str active", "active": "yes"}, "active", "active must be true or false"),
        ({"sku": 12, "name": "Number sku"}, "sku", "string"),
        ({"sku": "A", "name": "Typo", "activ": True}, "activ", "activ is not a field this request takes"),
    ]
    for body, field, reason in cases:
        response = await client.post("/api/products", json=body)
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert [d["field"] for d in error["details"]] == [field], body
        assert reason in error["details"][0]["message"], (body, error)
        assert field in error["message"]
    assert await db.fetchval("SELECT count(*) FROM product") == 0


async def test_create_with_a_broken_or_empty_body_is_a_400(client: httpx.AsyncClient) -> None:
    json_type = {"Content-Type": "application/json"}
    assert (await client.post("/api/products", content=b"{not json", headers=json_type)).status_code == 400
    assert (await client.post("/api/products", content=b"", headers=json_type)).status_code == 400
    assert (await client.post("/api/products", content=b'{"sku": "A", "name": "B"}')).status_code == 415
    assert (await client.post("/api/products", json=["a list"])).status_code == 400


async def test_get_unknown_or_non_numeric_id_is_a_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/products/999", "/api/products/abc", f"/api/products/{2**64}"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert "999" in (await client.get("/api/products/999")).json()["error"]["message"]


async def test_update_changes_only_the_fields_sent(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    product = await create(client, "SKU-1", "Old name", description="Keep me")
    response = await client.put(f"/api/products/{product['id']}", json={"name": "New name", "active": False})
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "New name" and updated["active"] is False
    assert updated["sku"] == "SKU-1" and updated["description"] == "Keep me"
    assert updated["created_at"] == product["created_at"]
    assert updated["updated_at"] > product["updated_at"]

    cleared = (await client.put(f"/api/products/{product['id']}", json={"description": None})).json()
    assert cleared["description"] is None and cleared["name"] == "New name"

    assert [(t, p["data"]) for t, p in await events(db)][1:] == [
        ("product.updated", updated),
        ("product.updated", cleared),
    ]


async def test_update_that_changes_nothing_writes_no_event(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    product = await create(client, "SKU-1", "Same", description="Same")
    for body in ({}, {"name": " Same ", "sku": "SKU-1", "description": "Same", "active": True}):
        response = await client.put(f"/api/products/{product['id']}", json=body)
        assert response.status_code == 200
        assert response.json() == product  # updated_at not bumped
    assert [t for t, _ in await events(db)] == ["product.created"]


async def test_update_sku_case_of_its_own_sku_is_allowed(client: httpx.AsyncClient) -> None:
    product = await create(client, "sku-1")
    response = await client.put(f"/api/products/{product['id']}", json={"sku": "SKU-1"})
    assert response.status_code == 200 and response.json()["sku"] == "SKU-1"


async def test_update_onto_a_taken_sku_is_a_409_naming_its_owner(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    owner = await create(client, "TAKEN")
    product = await create(client, "FREE")
    response = await client.put(f"/api/products/{product['id']}", json={"sku": "taken", "name": "Renamed"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert f"product {owner['id']}" in error["message"] and error["details"][0]["id"] == owner["id"]
    assert (await client.get(f"/api/products/{product['id']}")).json() == product  # rolled back whole
    assert [t for t, _ in await events(db)] == ["product.created", "product.created"]


async def test_update_errors(client: httpx.AsyncClient) -> None:
    product = await create(client, "SKU-1")
    response = await client.put(f"/api/products/{product['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "name"
    assert "leave it out" in response.json()["error"]["details"][0]["message"]
    response = await client.put(f"/api/products/{product['id']}", json={"sku": ""})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "sku"
    assert (await client.put("/api/products/999", json={"name": "x"})).status_code == 404
    broken = await client.put(
        f"/api/products/{product['id']}", content=b"[", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400


async def test_delete_removes_the_product_and_writes_its_event(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    product = await create(client, "SKU-1")
    response = await client.delete(f"/api/products/{product['id']}")
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 404
    assert (await client.delete(f"/api/products/{product['id']}")).status_code == 404
    assert [(t, p["data"]) for t, p in await events(db)] == [
        ("product.created", product),
        ("product.deleted", product),
    ]
    # The SKU is free again.
    await create(client, "sku-1")


async def test_the_change_and_its_event_commit_together(
    client: httpx.AsyncClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the outbox row cannot be written, the product change is rolled back with it."""
    product = await create(client, "SKU-1", "Before")

    async def broken_outbox(*args: object) -> int:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr("fulfil.products.service.record_event", broken_outbox)
    assert (await client.post("/api/products", json={"sku": "SKU-2", "name": "New"})).status_code == 500
    assert (await client.put(f"/api/products/{product['id']}", json={"name": "After"})).status_code == 500
    assert (await client.delete(f"/api/products/{product['id']}")).status_code == 500
    assert (await client.delete("/api/products/bulk?confirm=true")).status_code == 500
    assert await db.fetch("SELECT sku, name FROM product") == [("SKU-1", "Before")]
    assert [t for t, _ in await events(db)] == ["product.created"]
