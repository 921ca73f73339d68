"""Cursor pages: every row reachable in every sort and filter, both ways, stable under writes,
cursors that cannot be forged; natural name order; the exact SKU found first."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.products.queries import SORTS
from tests.support.products import create


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/products", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def walk(client: httpx.AsyncClient, backwards: bool = False, **params: Any) -> list[int]:
    """Every id, page by page along the cursors, from the first page (or from the last, backwards)."""
    body = await page(client, last="true", **params) if backwards else await page(client, **params)
    seen = [p["id"] for p in body["items"]]
    while cursor := body["prev_cursor" if backwards else "next_cursor"]:
        body = await page(client, **{"before" if backwards else "after": cursor}, **params)
        assert body["items"], "a cursor never leads to an empty page"
        ids = [p["id"] for p in body["items"]]
        seen = ids + seen if backwards else seen + ids
    return seen


@pytest.fixture
async def catalogue(db: asyncpg.Connection) -> None:
    """53 products with repeated names, timestamps and descriptions (ties broken by id)."""
    await db.execute(
        "INSERT INTO product (sku, name, description, active, created_at, updated_at) "
        "SELECT 'C' || i, 'Item ' || (i % 7), CASE WHEN i % 5 = 0 THEN NULL ELSE 'd' || (i % 3) END, i % 2 = 0, "
        "'2024-01-01Z'::timestamptz + make_interval(secs => (i % 4) + 0.000001 * i), "
        "'2024-01-01Z'::timestamptz + make_interval(secs => i % 6) FROM generate_series(1, 53) i"
    )


@pytest.mark.usefixtures("catalogue")
async def test_every_sort_reaches_every_row_forwards_and_backwards(client: httpx.AsyncClient) -> None:
    for field in SORTS:
        for sort in (field, f"-{field}"):
            expected = [p["id"] for p in (await page(client, sort=sort, page_size=500))["items"]]
            assert len(expected) == 53
            assert await walk(client, sort=sort, page_size=10) == expected, sort
            assert await walk(client, backwards=True, sort=sort, page_size=10) == expected, sort


@pytest.mark.usefixtures("catalogue")
async def test_cursors_work_with_filters(client: httpx.AsyncClient) -> None:
    expected = [p["id"] for p in (await page(client, name="item 3", active="true", page_size=500))["items"]]
    assert await walk(client, name="item 3", active="true", page_size=2) == expected
    assert await walk(client, backwards=True, name="item 3", active="true", page_size=2) == expected


@pytest.mark.usefixtures("catalogue")
async def test_a_numbered_page_links_to_its_neighbours(client: httpx.AsyncClient) -> None:
    second = await page(client, page=2, page_size=10)
    assert second["page"] == 2
    third = await page(client, after=second["next_cursor"], page_size=10)
    first = await page(client, before=second["prev_cursor"], page_size=10)
    assert [p["sku"] for p in first["items"]] == [f"C{i}" for i in range(1, 11)]
    assert first["prev_cursor"] is None and third["page"] is None
    assert [p["sku"] for p in third["items"]] == [f"C{i}" for i in range(21, 31)]
    last = await page(client, last="true", page_size=10)
    assert [p["sku"] for p in last["items"]] == [f"C{i}" for i in range(44, 54)] and last["next_cursor"] is None


@pytest.mark.usefixtures("catalogue")
async def test_pages_are_stable_under_concurrent_writes(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    first = await page(client, page_size=10)
    await db.execute("DELETE FROM product WHERE sku IN ('C3', 'C11', 'C12')")
    await db.execute("INSERT INTO product (id, sku, name) VALUES (1000, 'NEW', 'new')")
    second = await page(client, after=first["next_cursor"], page_size=10)
    assert [p["sku"] for p in second["items"]] == [f"C{i}" for i in range(13, 23)], "no row skipped or repeated"
    third = await page(client, page=3, page_size=10)
    await db.execute("DELETE FROM product WHERE id > $1", third["items"][-1]["id"])
    gone = await page(client, after=third["next_cursor"], page_size=10)
    assert gone["items"] == [] and gone["next_cursor"] is None and gone["prev_cursor"] is not None


async def test_a_bad_cursor_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    for number in range(3):
        await create(client, f"B{number}")
    good = (await page(client, page_size=1))["next_cursor"]
    body, signature = good.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    cases = [
        ({"after": "nonsense"}, "after"),
        ({"before": "a.b.c"}, "before"),
        ({"after": forged}, "after"),
        ({"after": good, "sort": "name"}, "after"),
        ({"after": "é" * 10}, "after"),
        ({"after": "x" * 1001}, "after"),
        ({"after": good, "before": good}, "after"),
        ({"after": good, "page": "2"}, "page"),
        ({"last": "true", "before": good}, "before"),
        ({"last": "maybe"}, "last"),
    ]
    for params, field in cases:
        response = await client.get("/api/products", params=params)
        assert response.status_code == 422, (params, response.text)
        details = response.json()["error"]["details"]
        assert field in [d["field"] for d in details], params
        assert all(d["location"] == "query" for d in details)


async def test_names_sort_naturally(client: httpx.AsyncClient) -> None:
    for sku, name in [("A", "Product 10"), ("B", "product 2"), ("C", "Product 1"), ("D", "Product 2b"), ("E", "Item")]:
        await create(client, sku, name)
    names = [p["name"] for p in (await page(client, sort="name"))["items"]]
    assert names == ["Item", "Product 1", "product 2", "Product 2b", "Product 10"]


async def test_an_exact_sku_is_found_first(client: httpx.AsyncClient) -> None:
    exact = await create(client, "SKU-77")
    for number in range(3):
        await create(client, f"SKU-77{number}")
    body = await page(client, q="sku-77", sort="-id")
    assert body["sku_match"] == exact and len(body["items"]) == 4
    assert (await page(client, sku="SKU-77"))["sku_match"] == exact
    assert (await page(client, q="SKU-7"))["sku_match"] is None
