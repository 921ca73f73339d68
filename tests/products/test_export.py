"""`GET /api/products/export`: filters, sort, selection, columns, quoting, the round trip through the
import, spreadsheets (inert cells, XLSX), hostile parameters and who may export."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest

from fulfil.products import export
from tests.support.access import token_client
from tests.support.imports import import_file
from tests.support.live import LiveServer
from tests.support.products import create
from tests.support.waiting import eventually

TRICKY = [
    ("CSV-1", 'Comma, and "quotes"', "line one\nline two, with a comma", True),
    ("CSV-2", "Ünïcödé ☃ 日本語 🎉", 'tab\there and a "quote"', False),
    ("CSV-3", "=1+2", "@SUM(A1)", True),
    ("CSV-4", "-minus", "+plus\r\ncarriage return inside", False),
    ("CSV-5", "No description", None, True),
]


async def seed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [await create(client, s, n, description=d, active=a) for s, n, d, a in TRICKY]


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def exported(client: httpx.AsyncClient, **params: str) -> list[list[str]]:
    response = await client.get("/api/products/export", params=params)
    assert response.status_code == 200, response.text
    return rows_of(response.text)


async def test_csv_has_a_header_the_default_columns_and_every_value_exact(client: httpx.AsyncClient) -> None:
    await seed(client)
    response = await client.get("/api/products/export", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).date().isoformat()
    assert response.headers["content-disposition"] == f'attachment; filename="products-{today}.csv"'
    assert response.headers["cache-control"] == "no-store"
    assert rows_of(response.text) == [
        ["sku", "name", "description", "active"],
        *([s, n, d or "", "true" if a else "false"] for s, n, d, a in TRICKY),
    ]
    # RFC 4180: fields with a comma, quote or line break in double quotes, quotes doubled; the rest bare.
    assert '\nCSV-1,"Comma, and ""quotes""","line one\nline two, with a comma",true\n' in response.text
    assert "\nCSV-5,No description,,true\n" in response.text


async def test_head_answers_the_headers_without_reading_the_products(client: httpx.AsyncClient) -> None:
    response = await client.head("/api/products/export", params={"format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["content-type"] == export.XLSX_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    assert (await client.head("/api/products/export", params={"format": "doc"})).status_code == 422


async def test_filters_and_sort_are_the_lists(client: httpx.AsyncClient) -> None:
    await seed(client)
    for params in ({"q": "csv", "active": "true", "sort": "-name"}, {"name": "i", "sort": "description"}, {}):
        listed = (await client.get("/api/products", params={**params, "page_size": 500})).json()["items"]
        rows = await exported(client, **params)
        assert [row[0] for row in rows[1:]] == [item["sku"] for item in listed], params
    assert await exported(client, sku="nothing like it") == [["sku", "name", "description", "active"]]


async def test_a_selection_of_ids_keeps_the_sort_and_the_filters(client: httpx.AsyncClient) -> None:
    products = await seed(client)
    ids = [products[3]["id"], products[0]["id"], products[2]["id"]]
    selection = ",".join(map(str, [*ids, 999999, 2**63, 10**19 - 1]))  # unknown ids are skipped
    assert [row[0] for row in (await exported(client, ids=selection))[1:]] == ["CSV-1", "CSV-3", "CSV-4"]
    assert [row[0] for row in (await exported(client, ids=selection, sort="-sku"))[1:]] == ["CSV-4", "CSV-3", "CSV-1"]
    assert [row[0] for row in (await exported(client, ids=selection, active="true"))[1:]] == ["CSV-1", "CSV-3"]
    assert await exported(client, ids="999999") == [["sku", "name", "description", "active"]]


async def test_columns_chooses_which_and_in_what_order(client: httpx.AsyncClient) -> None:
    products = await seed(client)
    rows = await exported(client, columns="updated_at,id,sku,created_at")
    assert rows[0] == ["updated_at", "id", "sku", "created_at"]
    for row, product in zip(rows[1:], products, strict=True):
        assert row[1:3] == [str(product["id"]), product["sku"]]
        assert row[0].endswith("Z") and row[3].endswith("Z"), "ISO 8601, in UTC"
        for text, field in ((row[0], "updated_at"), (row[3], "created_at")):
            assert datetime.fromisoformat(text) == datetime.fromisoformat(product[field])


async def test_the_export_imported_back_changes_nothing(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(client)
    for i in range(300):
        await db.execute(
            "INSERT INTO product (sku, name, description, active) VALUES ($1, $2, $3, $4)",
            f"BULK-{i:04d}",
            f'Bulk, "{i}"',
            None if i % 3 else f"Row {i}\nsecond line",
            i % 2 == 0,
        )
    before = await db.fetch("SELECT * FROM product ORDER BY id")
    history = await db.fetchval("SELECT count(*) FROM product_history")

    response = await client.get("/api/products/export", params={"columns": "sku,name,description,active"})
    snapshot = await import_file(client, response.content, "export.csv")

    assert snapshot["status"] == "completed", snapshot
    counts = {key: snapshot[key] for key in ("created", "updated", "unchanged", "rejected")}
    assert counts == {"created": 0, "updated": 0, "unchanged": len(before), "rejected": 0}
    assert await db.fetch("SELECT * FROM product ORDER BY id") == before, "values and updated_at as they were"
    assert await db.fetchval("SELECT count(*) FROM product_history") == history


async def test_for_spreadsheet_makes_formula_cells_inert_and_adds_a_bom(client: httpx.AsyncClient) -> None:
    await seed(client)
    response = await client.get("/api/products/export", params={"for": "spreadsheet"})
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbfsku,name,description,active\n")
    rows = rows_of(response.content.decode("utf-8-sig"))
    by_sku = {row[0]: row for row in rows[1:]}
    assert by_sku["CSV-3"][1:3] == ["'=1+2", "'@SUM(A1)"]
    assert by_sku["CSV-4"][1:3] == ["'-minus", "'+plus\r\ncarriage return inside"]
    assert by_sku["CSV-1"][1:3] == ['Comma, and "quotes"', "line one\nline two, with a comma"], "the rest exact"


async def test_xlsx_is_a_workbook_with_typed_cells_and_no_formulas(client: httpx.AsyncClient) -> None:
    products = await seed(client)
    response = await client.get("/api/products/export", params={"format": "xlsx", "columns": "id,sku,name,active"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == export.XLSX_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows())
    assert [cell.value for cell in cells[0]] == ["id", "sku", "name", "active"]
    assert [[cell.value for cell in row] for row in cells[1:]] == [
        [p["id"], p["sku"], p["name"], p["active"]] for p in products
    ]
    formula_like = cells[3][2]
    assert (formula_like.value, formula_like.data_type) == ("=1+2", "s"), "text, not a formula"


async def test_xlsx_past_a_worksheets_rows_is_refused_naming_format(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(client)
    monkeypatch.setattr(export, "XLSX_ROWS_MAX", 4)
    response = await client.get("/api/products/export", params={"format": "xlsx"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "format"
    assert (await client.get("/api/products/export", params={"format": "xlsx", "active": "true"})).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"for": "excel"}, "for"),
        ({"for_": "spreadsheet"}, "for_"),
        ({"sort": "price"}, "sort"),
        ({"columns": "sku,password"}, "columns"),
        ({"columns": "sku, name"}, "columns"),
        ({"columns": ",".join(["sku"] * 8)}, "columns"),
        ({"columns": ""}, "columns"),
        ({"ids": ""}, "ids"),
        ({"ids": "1,abc"}, "ids"),
        ({"ids": "-1"}, "ids"),
        ({"ids": "1" * 20}, "ids"),
        ({"ids": ",".join(["1"] * (export.IDS_MAX + 1))}, "ids"),
        ({"ids": "1;DROP TABLE product"}, "ids"),
        ({"sku": "a\x00b"}, "sku"),
        ({"q": "x" * 201}, "q"),
        ({"active": "maybe"}, "active"),
        ({"page": "2"}, "page"),
    ],
)
async def test_bad_parameters_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/products/export", params=params)
    assert response.status_code == 422, response.text
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


async def test_a_viewer_may_export_and_an_anonymous_caller_may_not(live_server: LiveServer) -> None:
    async with token_client(live_server, "viewer") as viewer:
        await create_as_admin(live_server)
        assert (await exported(viewer))[1:] == [["V-1", "Viewed", "", "true"]]
    async with httpx.AsyncClient(base_url=live_server.url) as anonymous:
        assert (await anonymous.get("/api/products/export")).status_code == 401


async def create_as_admin(live: LiveServer) -> None:
    async with token_client(live, "admin") as admin:
        await create(admin, "V-1", "Viewed")


async def test_a_large_export_streams_and_stops_when_the_client_goes(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO product (sku, name, description) "
        "SELECT 'BIG-' || n, 'Product ' || n, repeat('x', 200) FROM generate_series(1, 100000) AS n"
    )
    async with client.stream("GET", "/api/products/export") as response:
        lines = 0
        async for chunk in response.aiter_bytes():
            lines += chunk.count(b"\n")
    assert lines == 100_001

    async with client.stream("GET", "/api/products/export") as response:
        first = await anext(response.aiter_bytes())
        assert first.startswith(b"sku,name,description,active\n")

    async def copy_ended() -> bool:
        running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND datname = current_database()"
        return await db.fetchval(running) == 0  # type: ignore[no-any-return]

    await eventually(copy_ended, what="the COPY of the abandoned export ended")


async def test_a_process_runs_a_few_exports_at_once_and_refuses_more_with_429(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO product (sku, name, description) "
        "SELECT 'BIG-' || n, 'Product ' || n, repeat('x', 500) FROM generate_series(1, 50000) AS n"
    )
    async with contextlib.AsyncExitStack() as held:
        for _ in range(export.EXPORTS_AT_ONCE):  # each started and left unread: the COPY waits
            response = await held.enter_async_context(client.stream("GET", "/api/products/export"))
            assert response.status_code == 200
        refused = await client.get("/api/products/export", params={"format": "xlsx"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "5"

    async def served_again() -> bool:
        return (await client.get("/api/products/export", params={"sku": "BIG-1"})).status_code == 200

    await eventually(served_again, what="an export once the others ended")
