"""Product history: an entry for every change (API, import, bulk delete) with who and from where,
newest first, readable by SKU once the product is gone, pruned after PRODUCT_HISTORY_DAYS."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.products.jobs import prune_product_history
from tests.support.access import token_client
from tests.support.imports import csv_bytes, import_file
from tests.support.live import LiveServer
from tests.support.products import create


async def history(client: httpx.AsyncClient, product_id: int, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/products/{product_id}/history", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def me(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/api/auth/me")).json()  # type: ignore[no-any-return]


async def test_api_changes_are_kept_newest_first_with_the_token_and_its_user(live_server: LiveServer) -> None:
    async with token_client(live_server, "editor") as editor:
        user = await me(editor)
        product = await create(editor, "H-1", "First", description="one")
        pid = product["id"]
        changed = await editor.put(f"/api/products/{pid}", json={"name": "Second", "description": "one"})
        assert changed.status_code == 200
        same = await editor.put(f"/api/products/{pid}", json={"name": "Second"})
        assert same.status_code == 200  # nothing changed: nothing recorded
        page = await history(editor, pid)
    assert page["total"] == 2 and (page["page"], page["page_size"]) == (1, 50)
    updated, created = page["items"]
    assert (updated["action"], updated["source"]) == ("updated", "api")
    assert updated["before"] == {"name": "First"} and updated["after"] == {"name": "Second"}
    assert created["action"] == "created" and created["before"] is None
    assert created["after"] == {"sku": "H-1", "name": "First", "description": "one", "active": True}
    for entry in page["items"]:
        assert entry["product_id"] == pid and entry["job_id"] is None
        assert entry["actor"]["user_id"] == user["id"] and entry["actor"]["email"] == user["email"]
        assert entry["actor"]["token_id"] is not None
    assert updated["id"] > created["id"] and updated["at"] >= created["at"]


async def test_a_deleted_products_history_is_read_by_sku_in_any_case(client: httpx.AsyncClient) -> None:
    pid = (await create(client, "Gone-1", "Gone"))["id"]
    await client.put(f"/api/products/{pid}", json={"sku": "Gone-2"})
    assert (await client.delete(f"/api/products/{pid}")).status_code == 204
    other = (await create(client, "GONE-2", "Its successor"))["id"]
    response = await client.get("/api/products/history", params={"sku": "gone-2"})
    assert response.status_code == 200, response.text
    entries = response.json()["items"]
    assert [(e["product_id"], e["action"]) for e in entries] == [
        (other, "created"),
        (pid, "deleted"),
        (pid, "updated"),
        (pid, "created"),
    ], "every product that had the SKU, with its entries under an earlier SKU too"
    deleted = entries[1]
    assert deleted["before"] == {"sku": "Gone-2", "name": "Gone", "description": None, "active": True}
    assert deleted["after"] is None and deleted["sku"] == "Gone-2"
    assert entries[2]["before"] == {"sku": "Gone-1"} and entries[2]["after"] == {"sku": "Gone-2"}
    assert (await history(client, pid))["total"] == 3, "the deleted product's own id still answers"


async def test_history_pages(client: httpx.AsyncClient) -> None:
    pid = (await create(client, "P-1", "v0"))["id"]
    for i in range(1, 5):
        await client.put(f"/api/products/{pid}", json={"name": f"v{i}"})
    first = await history(client, pid, page_size=2)
    second = await history(client, pid, page_size=2, page=2)
    assert first["total"] == 5 and [e["after"]["name"] for e in first["items"]] == ["v4", "v3"]
    assert [e["after"]["name"] for e in second["items"]] == ["v2", "v1"]


async def test_bulk_delete_records_each_product_with_the_admin(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await db.execute("INSERT INTO product (sku, name) SELECT 'BH' || i, 'B' FROM generate_series(1, 300) i")
    assert (await client.delete("/api/products/bulk", params={"confirm": "true"})).json() == {"deleted": 300}
    rows = await db.fetch("SELECT action, source, actor, before FROM product_history")
    admin = (await me(client))["email"]
    assert len(rows) == 300
    assert {(r["action"], r["source"], r["actor"]) for r in rows} == {("deleted", "bulk", admin)}
    page = (await client.get("/api/products/history", params={"sku": "bh7"})).json()
    assert [e["before"]["sku"] for e in page["items"]] == ["BH7"]


async def test_an_import_records_its_job_and_who_started_it_and_an_unchanged_reimport_nothing(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    async with token_client(live_server, "editor") as editor:
        user = await me(editor)
        existing = await create(editor, "IM-0", "Old name", description="kept")
        content = csv_bytes([["IM-0", "New name", "kept"], ["IM-1", "One", ""], ["im-1", "One again", ""]])
        job = await import_file(editor, content)
        again = await import_file(editor, content)
        page = await history(editor, existing["id"])
        [created] = (await editor.get("/api/products/history", params={"sku": "IM-1"})).json()["items"]
    assert (job["created"], job["updated"]) == (1, 1)
    counts = ("created", "updated", "unchanged", "duplicates_in_file")
    assert [again[name] for name in counts] == [0, 0, 2, 1], "the row overridden in the file is a duplicate"
    imported, _ = page["items"]
    assert (imported["action"], imported["source"], imported["job_id"]) == ("updated", "import", job["job_id"])
    assert imported["before"] == {"name": "Old name"} and imported["after"] == {"name": "New name"}
    assert imported["actor"]["user_id"] == user["id"] and imported["actor"]["email"] == user["email"]
    assert created["action"] == "created" and created["source"] == "import"
    assert created["after"]["sku"] == "im-1" and created["after"]["name"] == "One again", "the last row wins"
    assert await db.fetchval("SELECT count(*) FROM product_history WHERE job_id = $1", again["job_id"]) == 0


async def test_entries_past_product_history_days_are_pruned(live_server: LiveServer, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO product_history (product_id, sku, action, source, at) VALUES"
        " (1, 'OLD', 'created', 'api', now() - interval '91 days'),"
        " (2, 'NEW', 'created', 'api', now() - interval '89 days')"
    )
    resources = live_server.resources
    resources.settings = resources.settings.model_copy(update={"product_history_days": 0})
    await prune_product_history({"resources": resources})
    assert await db.fetchval("SELECT count(*) FROM product_history") == 2, "0 keeps everything"
    resources.settings = resources.settings.model_copy(update={"product_history_days": 90})
    await prune_product_history({"resources": resources})
    assert await db.fetchval("SELECT array_agg(sku) FROM product_history") == ["NEW"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "sku"),
        ({"sku": "   "}, "sku"),
        ({"sku": "x" * 60_000}, "sku"),
        ({"sku": "a\x00b"}, "sku"),
        ({"sku": "a", "page": "99999999999"}, "page"),
        ({"sku": "a", "page_size": "0"}, "page_size"),
        ({"sku": "a", "sort": "id"}, "sort"),
    ],
)
async def test_a_bad_sku_query_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/products/history", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field


async def test_history_needs_products_read_and_a_bad_id_is_a_404(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as anonymous:
        assert (await anonymous.get("/api/products/1/history")).status_code == 401
        assert (await anonymous.get("/api/products/history?sku=a")).status_code == 401
    async with token_client(live_server, "viewer") as viewer:
        assert (await viewer.get("/api/products/1/history")).json()["total"] == 0
        assert (await viewer.get("/api/products/99999999999999999999/history")).status_code == 404
        assert (await viewer.get("/api/products/history/history")).status_code == 404
