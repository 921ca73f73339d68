"""Column mapping: a `mapping` option or a saved profile, the failure that lists the columns, hostile mappings."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from tests.support.access import token_client
from tests.support.imports import csv_bytes, import_file, upload
from tests.support.live import LiveServer

FOREIGN = ("Item No.", "Title", "Long text", "Sellable")
ROWS = [["IT-1", "First item", "one", "yes"], ["IT-2", "Second item", "", "no"], ["IT-3", "Third", "three", ""]]
MAPPING = {"sku": "Item No.", "name": "Title", "description": "Long text", "active": "Sellable"}


async def stored(db: asyncpg.Connection) -> list[tuple[str, str, str | None, bool]]:
    rows = await db.fetch("SELECT sku, name, description, active FROM product WHERE sku <> 'IT-3' ORDER BY sku")
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.parametrize("where", ["params", "data"])
async def test_a_mapping_imports_a_file_with_foreign_headers(
    client: httpx.AsyncClient, db: asyncpg.Connection, where: str
) -> None:
    snapshot = await import_file(client, csv_bytes(ROWS, FOREIGN), **{where: {"mapping": json.dumps(MAPPING)}})  # type: ignore[arg-type]
    assert (snapshot["status"], snapshot["created"]) == ("completed", 3)
    assert snapshot["mapping"] == MAPPING
    assert snapshot["columns"] == [
        {"column": "Item No.", "field": "sku"},
        {"column": "Title", "field": "name"},
        {"column": "Long text", "field": "description"},
        {"column": "Sellable", "field": "active"},
    ]
    assert await stored(db) == [("IT-1", "First item", "one", True), ("IT-2", "Second item", None, False)]


async def test_a_header_without_sku_or_name_fails_before_any_write_with_its_columns_and_first_rows(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, csv_bytes(ROWS, FOREIGN))
    assert snapshot["status"] == "failed"
    assert "no sku or name column" in snapshot["error"]
    assert [c["column"] for c in snapshot["columns"]] == list(FOREIGN)
    assert snapshot["sample_rows"] == ROWS
    assert await db.fetchval("SELECT count(*) FROM product") == 0


async def test_a_mapping_naming_a_column_the_file_lacks_fails_before_any_write(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    mapping = {"sku": "Item No.", "name": "Product name"}
    snapshot = await import_file(client, csv_bytes(ROWS, FOREIGN), data={"mapping": json.dumps(mapping)})
    assert snapshot["status"] == "failed"
    assert "'Product name' for name" in snapshot["error"]
    assert await db.fetchval("SELECT count(*) FROM product") == 0


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ("[1, 2]", "JSON object"),
        ('{"sku": "a"', "not valid JSON"),
        ('{"price": "Cost"}', "'price' is not a field"),
        ('{"sku": 5}', "not int"),
        ('{"sku": {"nested": "x"}}', "not dict"),
        ('{"sku": ""}', "1 to 200 characters"),
        ('{"sku": "' + "x" * 300 + '"}', "1 to 200 characters"),
        ('{"sku": "a\\u0000b"}', "control character"),
        ('{"sku": "a", "sku": "b"}', "twice"),
        ("[" * 5000 + "]" * 5000, "longer than"),
        ("{}", "maps no field"),
        ('{"sku": NaN}', "not JSON"),
    ],
)
async def test_a_hostile_mapping_is_a_400_naming_the_field(
    client: httpx.AsyncClient, db: asyncpg.Connection, mapping: str, says: str
) -> None:
    response = await client.post(
        "/api/upload",
        files={"file": ("p.csv", csv_bytes(ROWS, FOREIGN), "text/csv")},
        data={"mapping": mapping},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"][0]["field"] == "mapping"
    assert says in error["message"]
    assert await db.fetchval("SELECT count(*) FROM import_job") == 0, "no job is recorded"


async def test_a_huge_form_field_is_refused_while_it_arrives(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/upload", files={"file": ("p.csv", csv_bytes(ROWS, FOREIGN), "text/csv")}, data={"mapping": "x" * 100_000}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "mapping"


async def test_profiles_are_saved_used_by_name_changed_and_deleted_with_audit(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    created = await client.post("/api/import-profiles", json={"name": "Supplier A", "mapping": MAPPING})
    assert created.status_code == 201, created.text
    assert created.json()["mapping"] == MAPPING
    assert (
        await client.post("/api/import-profiles", json={"name": "supplier a", "mapping": MAPPING})
    ).status_code == 409
    assert [p["name"] for p in (await client.get("/api/import-profiles")).json()["profiles"]] == ["Supplier A"]

    snapshot = await import_file(client, csv_bytes(ROWS, FOREIGN), params={"profile": "supplier a"})
    assert (snapshot["status"], snapshot["created"], snapshot["mapping"]) == ("completed", 3, MAPPING)

    changed = {"sku": "Item No.", "name": "Long text"}
    updated = await client.put("/api/import-profiles/Supplier A", json={"name": "Supplier B", "mapping": changed})
    assert updated.status_code == 200, updated.text
    assert (await client.get("/api/import-profiles/supplier b")).json()["mapping"] == changed
    assert (await client.get("/api/import-profiles/Supplier A")).status_code == 404
    assert (await client.delete("/api/import-profiles/Supplier B")).status_code == 204
    assert (await client.delete("/api/import-profiles/Supplier B")).status_code == 404
    actions = [
        r["action"] for r in await db.fetch("SELECT action FROM audit_event WHERE action LIKE 'import_profile.%'")
    ]
    assert actions == ["import_profile.created", "import_profile.updated", "import_profile.deleted"]

    unknown = await client.post(
        "/api/upload", files={"file": ("p.csv", csv_bytes(ROWS, FOREIGN), "text/csv")}, params={"profile": "nope"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"][0]["field"] == "profile"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "mapping": MAPPING},
        {"name": "x" * 101, "mapping": MAPPING},
        {"name": "a\nb", "mapping": MAPPING},
        {"name": "ok", "mapping": {"colour": "Colour"}},
        {"name": "ok", "mapping": {"sku": ["a"]}},
        {"name": "ok", "mapping": MAPPING, "extra": 1},
        {"name": "ok"},
    ],
)
async def test_a_bad_profile_is_refused_naming_the_field(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/api/import-profiles", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]


async def test_viewers_read_profiles_and_only_editors_write_them(
    live_server: LiveServer, client: httpx.AsyncClient
) -> None:
    await client.post("/api/import-profiles", json={"name": "Shared", "mapping": MAPPING})
    async with token_client(live_server, "viewer") as viewer:
        assert (await viewer.get("/api/import-profiles")).status_code == 200
        assert (await viewer.post("/api/import-profiles", json={"name": "V", "mapping": MAPPING})).status_code == 403
        assert (await viewer.delete("/api/import-profiles/Shared")).status_code == 403
    async with token_client(live_server, "editor") as editor:
        assert (
            await editor.put("/api/import-profiles/Shared", json={"name": "Shared", "mapping": MAPPING})
        ).status_code == 200
        reply = await upload(editor, csv_bytes(ROWS, FOREIGN), params={"profile": "Shared", "dry_run": "true"})
        assert reply["confirm_url"].endswith("/confirm")


async def test_a_hostile_header_is_shown_cut_short_and_without_nul_bytes(client: httpx.AsyncClient) -> None:
    header = ",".join(["a\x00b", "x" * 5000, *(f"c{i}" for i in range(400))])
    content = (header + "\n" + ",".join(["1"] * 402) + "\n").encode()
    snapshot = await import_file(client, content)
    assert snapshot["status"] == "failed"
    columns = [c["column"] for c in snapshot["columns"]]
    assert (len(columns), columns[0], len(columns[1])) == (200, "ab", 200)
    assert len(snapshot["sample_rows"][0]) == 200
