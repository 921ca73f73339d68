"""Listing: filters (alone and combined), case-insensitivity, wildcards, sorts, pages and totals."""

from __future__ import annotations

import asyncpg
import httpx

from fulfil.products.queries import COUNT_CAP, SEARCH_COUNT_CAP
from tests.support.products import create

ONE_PAGE = {"next_cursor": None, "prev_cursor": None, "sku_match": None, "total_kind": "exact", "search_indexed": True}


async def seed(client: httpx.AsyncClient) -> list[dict]:
    rows = [
        ("WID-001", "Blue Widget", "A small widget", True),
        ("wid-002", "red widget", "Large, 100% cotton", False),
        ("GAD-003", "Gadget", "Works with widgets", True),
        ("GAD_004", "gizmo", None, False),
        ("TOOL-5", "Hammer", "Steel head", True),
    ]
    return [await create(client, s, n, description=d, active=a) for s, n, d, a in rows]


async def skus(client: httpx.AsyncClient, **params: str | int | bool) -> list[str]:
    response = await client.get("/api/products", params=params)
    assert response.status_code == 200, response.text
    return [item["sku"] for item in response.json()["items"]]


async def test_default_listing(client: httpx.AsyncClient) -> None:
    products = await seed(client)
    body = (await client.get("/api/products")).json()
    assert body == {"items": products, "page": 1, "page_size": 50, "total": 5, "total_exact": True, **ONE_PAGE}


async def test_empty_catalogue(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/products")).json()
    assert body == {"items": [], "page": 1, "page_size": 50, "total": 0, "total_exact": True, **ONE_PAGE}


async def test_each_filter_is_a_case_insensitive_contains(client: httpx.AsyncClient) -> None:
    await seed(client)
    assert await skus(client, sku="wid") == ["WID-001", "wid-002"]
    assert await skus(client, name="WIDGET") == ["WID-001", "wid-002"]
    assert await skus(client, description="Widget") == ["WID-001", "GAD-003"]
    assert await skus(client, q="widget") == ["WID-001", "wid-002"], "q: SKU or name, not description"
    assert await skus(client, active="false") == ["wid-002", "GAD_004"]
    assert await skus(client, active="true") == ["WID-001", "GAD-003", "TOOL-5"]
    assert await skus(client, name="  ") == ["WID-001", "wid-002", "GAD-003", "GAD_004", "TOOL-5"]
    assert await skus(client, active="") == ["WID-001", "wid-002", "GAD-003", "GAD_004", "TOOL-5"]
    assert await skus(client, name="nothing like it") == []


async def test_the_description_filter_ignores_case_beyond_ascii_too(client: httpx.AsyncClient) -> None:
    await create(client, "BRULEE", description="CRÈME BRÛLÉE kit")
    await create(client, "PLAIN", description="Creme brulee, plain spelling")
    assert await skus(client, description="crème brûlée") == ["BRULEE"]
    assert await skus(client, description="Crème") == ["BRULEE"]
    assert await skus(client, description="CREME BRULEE") == ["PLAIN"], "an ASCII term: ASCII letters in any case"
    assert await skus(client, description="kit") == ["BRULEE"]


async def test_without_trigram_indexes_searches_match_the_same_products(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """As on a server without pg_trgm (the embedded one): the same matches, read from the table."""
    await seed(client)
    await create(client, "ÉCLAIR-1", "Éclair tray")
    await db.execute("DROP INDEX product_sku_trgm_idx, product_name_trgm_idx")
    assert (await client.get("/api/products", params={"q": "x"})).json()["search_indexed"] is False
    assert await skus(client, q="WIDGET") == ["WID-001", "wid-002"]
    assert await skus(client, q="gad_") == ["GAD_004"]
    assert await skus(client, sku="wid", active="false") == ["wid-002"]
    assert await skus(client, name="éclair") == ["ÉCLAIR-1"]
    assert await skus(client, q="éclair-") == ["ÉCLAIR-1"]


async def test_filters_combine_with_and(client: httpx.AsyncClient) -> None:
    await seed(client)
    assert await skus(client, q="widget", active="true") == ["WID-001"]
    assert await skus(client, sku="gad", name="g", active="false") == ["GAD_004"]
    assert await skus(client, name="widget", description="cotton") == ["wid-002"]
    response = await client.get("/api/products", params={"q": "widget", "active": "false"})
    assert response.json()["total"] == 1


async def test_like_wildcards_in_the_term_match_themselves(client: httpx.AsyncClient) -> None:
    await seed(client)
    assert await skus(client, description="100%") == ["wid-002"]
    assert await skus(client, description="%") == ["wid-002"]
    assert await skus(client, sku="_") == ["GAD_004"]
    assert await skus(client, sku="D_0") == ["GAD_004"]  # `_` is not "any character"
    await create(client, "BACK\\SLASH")
    assert await skus(client, sku="k\\s") == ["BACK\\SLASH"]


async def test_sorts_ascending_and_descending(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(client)
    assert await skus(client, sort="sku") == ["GAD-003", "GAD_004", "TOOL-5", "WID-001", "wid-002"]
    assert await skus(client, sort="-sku") == ["wid-002", "WID-001", "TOOL-5", "GAD_004", "GAD-003"]
    assert await skus(client, sort="name") == ["WID-001", "GAD-003", "GAD_004", "TOOL-5", "wid-002"]
    assert await skus(client, sort="description") == ["GAD_004", "WID-001", "wid-002", "TOOL-5", "GAD-003"]
    assert await skus(client, sort="-description") == ["GAD-003", "TOOL-5", "wid-002", "WID-001", "GAD_004"]
    assert await skus(client, sort="active") == ["wid-002", "GAD_004", "WID-001", "GAD-003", "TOOL-5"]
    assert await skus(client, sort="-active") == ["TOOL-5", "GAD-003", "WID-001", "GAD_004", "wid-002"]
    assert await skus(client, sort="-id") == ["TOOL-5", "GAD_004", "GAD-003", "wid-002", "WID-001"]
    await db.execute(
        "UPDATE product SET created_at = now() - make_interval(days => id::int), updated_at = now() - "
        "make_interval(days => (10 - id)::int)"
    )
    assert await skus(client, sort="created_at") == ["TOOL-5", "GAD_004", "GAD-003", "wid-002", "WID-001"]
    assert await skus(client, sort="-created_at") == ["WID-001", "wid-002", "GAD-003", "GAD_004", "TOOL-5"]
    assert await skus(client, sort="updated_at") == ["WID-001", "wid-002", "GAD-003", "GAD_004", "TOOL-5"]
    assert await skus(client, sort="-updated_at") == ["TOOL-5", "GAD_004", "GAD-003", "wid-002", "WID-001"]


async def test_ties_are_broken_by_id_so_pages_never_overlap(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO product (sku, name, created_at) "
        "SELECT 'S' || i, 'Same', '2024-01-01Z' FROM generate_series(1, 7) i"
    )
    seen = []
    for page in (1, 2, 3):
        seen += await skus(client, sort="-created_at", page=page, page_size=3)
    assert seen == [f"S{i}" for i in range(7, 0, -1)]
    assert await skus(client, sort="name", page=3, page_size=3) == ["S7"]


async def test_pagination_edges(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO product (sku, name) SELECT 'P' || i, 'P' FROM generate_series(1, 501) i")
    full = (await client.get("/api/products", params={"page_size": 500})).json()
    assert len(full["items"]) == 500 and full["total"] == 501 and full["page_size"] == 500
    last = (await client.get("/api/products", params={"page_size": 500, "page": 2})).json()
    assert [p["sku"] for p in last["items"]] == ["P501"] and last["total"] == 501
    beyond = (await client.get("/api/products", params={"page": 99})).json()
    assert beyond["items"] == [] and beyond["total"] == 501 and beyond["page"] == 99
    one = (await client.get("/api/products", params={"page_size": 1, "page": 501})).json()
    assert [p["sku"] for p in one["items"]] == ["P501"]


async def test_bad_parameters_are_a_422_naming_the_parameter(client: httpx.AsyncClient) -> None:
    cases = [
        ({"sort": "price"}, "sort"),
        ({"sort": "--id"}, "sort"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"active": "maybe"}, "active"),
        ({"name": "a\x00b"}, "name"),
        ({"q": "x" * 201}, "q"),
        ({"colour": "red"}, "colour"),
    ]
    for params, field in cases:
        response = await client.get("/api/products", params=params)
        assert response.status_code == 422, params
        error = response.json()["error"]
        assert [d["field"] for d in error["details"]] == [field], params
        assert error["details"][0]["location"] == "query" and field in error["message"]


async def test_total_past_the_cap_is_an_estimate(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO product (sku, name, active) SELECT 'E' || i, 'Name ' || i, i % 10 = 0 "
        f"FROM generate_series(1, {COUNT_CAP + 2000}) i"
    )
    await db.execute("ANALYZE product")
    body = (await client.get("/api/products", params={"page_size": 2})).json()
    assert body["total_exact"] is False and body["total_kind"] == "about"
    assert COUNT_CAP < body["total"] < (COUNT_CAP + 2000) * 1.5
    exact = (await client.get("/api/products", params={"active": "true"})).json()
    assert exact["total_exact"] is True and exact["total"] == (COUNT_CAP + 2000) // 10
    # A text filter counts exactly up to a lower cap: each match is rechecked on its heap page.
    # Past it the planner's guess at a contains-match is no count: the reply says "more than".
    many = (await client.get("/api/products", params={"name": "name 1"})).json()
    assert many["total_exact"] is False and many["total_kind"] == "more_than" and many["total"] == SEARCH_COUNT_CAP
    few = (await client.get("/api/products", params={"name": "name 99"})).json()
    assert few["total_exact"] is True and few["total"] == 111  # 99, 990-999, 9900-9999
