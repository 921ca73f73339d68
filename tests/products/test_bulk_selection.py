"""Bulk actions on a selection (`ids`) or on everything a filter matches: dry runs, batches, a
history entry per product changed, one summary event, an audit row, and a 422 for every selection
that does not make sense."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.products import queries
from fulfil.products.fields import FIELDS
from tests.support.products import events


@pytest.fixture
async def catalogue(db: asyncpg.Connection) -> None:
    """25 kettles (odd ones active) and 5 mugs."""
    await db.execute(
        "INSERT INTO product (sku, name, active) "
        "SELECT 'K' || i, 'Kettle ' || i, i % 2 = 1 FROM generate_series(1, 25) i"
    )
    await db.execute("INSERT INTO product (sku, name) SELECT 'M' || i, 'Mug ' || i FROM generate_series(1, 5) i")


async def bulk_entries(client: httpx.AsyncClient, db: asyncpg.Connection) -> list[tuple[Any, ...]]:
    """The history entries, by product: (product_id, sku, action, before, after), each checked to
    come from `bulk` with no job, by the client's user and token."""
    user = (await client.get("/api/auth/me")).json()
    rows = await db.fetch("SELECT * FROM product_history ORDER BY product_id")
    for row in rows:
        assert (row["source"], row["job_id"]) == ("bulk", None)
        assert (row["actor_user_id"], row["actor"]) == (user["id"], user["email"])
        assert row["actor_token_id"] is not None
    return [(r["product_id"], r["sku"], r["action"], loaded(r["before"]), loaded(r["after"])) for r in rows]


def loaded(side: str | None) -> Any:
    return None if side is None else json.loads(side)


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/products/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.usefixtures("catalogue")
async def test_delete_what_a_filter_matches_in_batches(
    client: httpx.AsyncClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "BULK_BATCH", 4)
    body = {"filter": {"name": "kettle"}, "dry_run": True}
    assert await post(client, "bulk-delete", body) == {"matched": 25, "affected": 25, "dry_run": True, "job": None}
    assert await db.fetchval("SELECT count(*) FROM product") == 30 and await events(db) == []
    result = await post(client, "bulk-delete", {"filter": {"name": "kettle"}})
    assert result == {"matched": 25, "affected": 25, "dry_run": False, "job": None}
    assert await db.fetchval("SELECT string_agg(sku, ',' ORDER BY id) FROM product") == "M1,M2,M3,M4,M5"
    [(event_type, payload)] = await events(db)
    assert event_type == "product.bulk_deleted"
    assert payload["data"] == {"count": 25, "filter": {"name": "kettle"}}
    audit = await db.fetchrow("SELECT action, details FROM audit_event ORDER BY id DESC LIMIT 1")
    assert audit["action"] == "products.bulk_deleted"
    assert json.loads(audit["details"])["affected"] == 25


@pytest.mark.usefixtures("catalogue")
async def test_delete_a_selection_records_each_product_whole(
    client: httpx.AsyncClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "BULK_BATCH", 1)
    gone = await db.fetch(f"SELECT id, {', '.join(FIELDS)} FROM product WHERE sku IN ('K2', 'M3') ORDER BY id")
    ids = [row["id"] for row in gone]
    assert (await post(client, "bulk-delete", {"ids": ids, "dry_run": True}))["affected"] == 2
    assert await bulk_entries(client, db) == [], "a dry run records nothing"
    result = await post(client, "bulk-delete", {"ids": [*ids, 999_999]})
    assert result == {"matched": 2, "affected": 2, "dry_run": False, "job": None}, "unknown ids are skipped"
    assert await db.fetchval("SELECT count(*) FROM product") == 28
    [(_, payload)] = await events(db)
    assert payload["data"] == {"count": 2, "ids": [*ids, 999_999]}
    assert await bulk_entries(client, db) == [
        (p["id"], p["sku"], "deleted", {f: p[f] for f in FIELDS}, None) for p in gone
    ], "one entry a product, the whole product before, one batch each"


@pytest.mark.usefixtures("catalogue")
async def test_set_active_on_a_filter_counts_only_the_changed(
    client: httpx.AsyncClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "BULK_BATCH", 5)
    body: dict[str, Any] = {"filter": {"q": "kettle"}, "set": {"active": False}, "dry_run": True}
    assert await post(client, "bulk-update", body) == {"matched": 25, "affected": 13, "dry_run": True, "job": None}
    assert await bulk_entries(client, db) == [], "a dry run records nothing"
    body["dry_run"] = False
    assert await post(client, "bulk-update", body) == {"matched": 25, "affected": 13, "dry_run": False, "job": None}
    assert await db.fetchval("SELECT count(*) FROM product WHERE active") == 5
    [(event_type, payload)] = await events(db)
    assert event_type == "product.bulk_updated"
    assert payload["data"] == {"count": 13, "filter": {"q": "kettle"}, "set": {"active": False}}
    odd = await db.fetch("SELECT id, sku FROM product WHERE sku ~ '^K[0-9]*[13579]$' ORDER BY id")
    expected = [(p["id"], p["sku"], "updated", {"active": True}, {"active": False}) for p in odd]
    assert await bulk_entries(client, db) == expected, "only `active`, only the products it changed"
    again = await post(client, "bulk-update", body)
    assert again["affected"] == 0
    assert await bulk_entries(client, db) == expected, "nothing changed again: nothing recorded"


@pytest.mark.usefixtures("catalogue")
async def test_a_selection_that_makes_no_sense_is_a_422_naming_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cases: list[tuple[str, Any, str]] = [
        ("bulk-delete", {}, "ids"),
        ("bulk-delete", {"ids": [1], "filter": {"name": "x"}}, "ids"),
        ("bulk-delete", {"filter": {}}, "filter"),
        ("bulk-delete", {"filter": {"name": "  "}}, "filter"),
        ("bulk-delete", {"ids": []}, "ids"),
        ("bulk-delete", {"ids": ["1"]}, "ids"),
        ("bulk-delete", {"ids": [0]}, "ids"),
        ("bulk-delete", {"ids": [2**63]}, "ids"),
        ("bulk-delete", {"ids": list(range(1, 10_002))}, "ids"),
        ("bulk-delete", {"filter": {"colour": "red"}}, "filter"),
        ("bulk-delete", {"filter": {"name": "a\x00b"}}, "filter"),
        ("bulk-delete", {"filter": "name=x"}, "filter"),
        ("bulk-delete", {"ids": [1], "dry_run": "yes"}, "dry_run"),
        ("bulk-delete", {"ids": [1], "confirm": True}, "confirm"),
        ("bulk-update", {"ids": [1]}, "set"),
        ("bulk-update", {"ids": [1], "set": {"active": "false"}}, "set"),
        ("bulk-update", {"ids": [1], "set": {"name": "x"}}, "set"),
        ("bulk-update", {"ids": [1], "set": {}}, "set"),
    ]
    for path, body, field in cases:
        response = await client.post(f"/api/products/{path}", json=body)
        assert response.status_code == 422, (body, response.text)
        fields = [d["field"].split(".")[0] for d in response.json()["error"]["details"]]
        assert field in fields, (body, fields)
    assert await db.fetchval("SELECT count(*) FROM product") == 30 and await events(db) == []
