"""Import modes: upsert (the default), create_only and update_only, each over real HTTP and PostgreSQL."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from tests.support.imports import BATCH_ROWS, csv_bytes, import_file

STORED = [[f"MO-{i}", f"stored {i}", "old"] for i in range(BATCH_ROWS)]  # one batch already in the catalogue


def mixed_file() -> bytes:
    """Half of the stored SKUs, renamed, then as many new ones: spread over two batches."""
    changed = [[f"MO-{i}", f"renamed {i}", "old"] for i in range(0, BATCH_ROWS, 2)]
    new = [[f"NEW-{i}", f"new {i}", "fresh"] for i in range(BATCH_ROWS)]
    return csv_bytes(changed + new)


async def stored_names(db: asyncpg.Connection) -> dict[str, str]:
    return {row["sku"]: row["name"] for row in await db.fetch("SELECT sku, name FROM product")}


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> None:
    await import_file(client, csv_bytes(STORED))


@pytest.mark.usefixtures("catalogue")
async def test_create_only_leaves_stored_skus_as_they_are_and_counts_them_skipped(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, mixed_file(), data={"mode": "create_only"})
    assert snapshot["mode"] == "create_only"
    counts = [snapshot[name] for name in ("created", "updated", "unchanged", "skipped", "rejected")]
    assert counts == [BATCH_ROWS, 0, 0, BATCH_ROWS // 2, 0]
    assert snapshot["skip_reasons"] == {"the SKU is already stored (mode create_only)": BATCH_ROWS // 2}
    names = await stored_names(db)
    assert names["MO-0"] == "stored 0" and names["NEW-0"] == "new 0"
    history = await db.fetchval("SELECT count(*) FROM product_history WHERE job_id = $1", snapshot["job_id"])
    assert history == BATCH_ROWS, "only the creations are in the product history"


@pytest.mark.usefixtures("catalogue")
async def test_update_only_skips_unknown_skus_and_writes_history_for_the_updates(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, mixed_file(), params={"mode": "update_only"})
    assert snapshot["mode"] == "update_only"
    counts = [snapshot[name] for name in ("created", "updated", "unchanged", "skipped")]
    assert counts == [0, BATCH_ROWS // 2, 0, BATCH_ROWS]
    assert snapshot["skip_reasons"] == {"the SKU is not stored (mode update_only)": BATCH_ROWS}
    names = await stored_names(db)
    assert "NEW-0" not in names and names["MO-0"] == "renamed 0" and names["MO-1"] == "stored 1"
    entries = await db.fetch(
        "SELECT action, before, after FROM product_history WHERE job_id = $1 AND sku = 'MO-0'", snapshot["job_id"]
    )
    assert [(e["action"], json.loads(e["before"]), json.loads(e["after"])) for e in entries] == [
        ("updated", {"name": "stored 0"}, {"name": "renamed 0"})
    ]


@pytest.mark.usefixtures("catalogue")
async def test_upsert_is_the_default_and_the_mode_is_in_the_history_and_the_event(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, mixed_file())
    assert (snapshot["mode"], snapshot["created"], snapshot["updated"], snapshot["skipped"]) == (
        "upsert",
        BATCH_ROWS,
        BATCH_ROWS // 2,
        0,
    )
    await import_file(client, csv_bytes([["UNKNOWN-1", "x", ""], ["unknown-1", "y", ""]]), data={"mode": "update_only"})
    history = (await client.get("/api/uploads")).json()["items"]
    assert [item["mode"] for item in history] == ["update_only", "upsert", "upsert"]
    payloads = await db.fetch(
        "SELECT payload FROM webhook_event WHERE event_type = 'import.completed' ORDER BY created_at"
    )
    data = json.loads(payloads[-1]["payload"])["data"]
    assert (data["mode"], data["skipped"], data["duplicates_in_file"]) == ("update_only", 1, 1)


@pytest.mark.parametrize("where", ["params", "data"])
async def test_an_unknown_mode_is_a_400_naming_the_field(client: httpx.AsyncClient, where: str) -> None:
    options = {"mode": "overwrite_all"}
    response = await client.post(
        "/api/upload",
        files={"file": ("p.csv", csv_bytes([["A", "a", ""]]), "text/csv")},
        **{where: options},  # type: ignore[arg-type]
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"][0]["field"] == "mode"
    assert "create_only" in error["message"]


async def test_an_option_given_twice_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/upload",
        files={"file": ("p.csv", csv_bytes([["A", "a", ""]]), "text/csv")},
        params={"mode": "create_only"},
        data={"mode": "update_only"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "mode"
