"""Undo of an import: what it created deleted, what it updated restored (SKU case included),
conflicts left alone unless forced, resumed after a cut-off, redone once, one summary event,
refused past the history kept."""

from __future__ import annotations

import csv
import io
from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.imports.queries import LOCK_NAMESPACE
from tests.support.access import token_client
from tests.support.imports import BATCH_ROWS, csv_bytes, import_file, upload, wait_final, wait_rows_done
from tests.support.live import LiveServer
from tests.support.products import create, events
from tests.support.waiting import eventually

HEADER = ("sku", "name", "description", "active")


async def request_undo(client: httpx.AsyncClient, job_id: str, **params: str) -> dict[str, Any]:
    response = await client.post(f"/api/upload/{job_id}/undo", params=params)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def undo(client: httpx.AsyncClient, job_id: str, **params: str) -> dict[str, Any]:
    """Undo the job and wait for the undo's final snapshot."""
    return await wait_final(client, (await request_undo(client, job_id, **params))["job_id"])


async def catalogue(db: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await db.fetch("SELECT id, sku, name, description, active FROM product ORDER BY id")
    return [tuple(row) for row in rows]


async def conflicts(client: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/upload/{job_id}/conflicts")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_undo_of_a_fresh_import_empties_the_catalogue_with_one_event(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    async with token_client(live_server, "editor") as editor:
        job = await import_file(editor, csv_bytes([[f"F-{i}", f"Fresh {i}", "d"] for i in range(180)]))
        accepted = await request_undo(editor, job["job_id"])
        assert set(accepted) == {"job_id", "undoes", "status", "progress_url", "stream_url", "conflicts_url"}
        assert accepted["undoes"] == job["job_id"] and accepted["progress_url"].endswith("/progress")
        final = await wait_final(editor, accepted["job_id"])
        undone = (await editor.get(f"/api/upload/{job['job_id']}/progress")).json()
        again = await editor.post(f"/api/upload/{job['job_id']}/undo")
    assert (final["status"], final["kind"], final["undoes"]) == ("completed", "undo", job["job_id"])
    assert (final["deleted"], final["restored"], final["conflicts"]) == (180, 0, 0)
    assert (final["rows_done"], final["rows_total"]) == (180, 180)
    assert undone["undone_by"] == final["job_id"]
    assert await db.fetchval("SELECT count(*) FROM product") == 0
    undone_events = [payload["data"] for kind, payload in await events(db) if kind == "import.undone"]
    assert len(undone_events) == 1
    assert undone_events[0]["deleted"] == 180 and undone_events[0]["undoes"] == job["job_id"]
    audit = await db.fetchrow("SELECT actor, details FROM audit_event WHERE action = 'import.undo'")
    assert audit is not None and job["job_id"] in audit["details"]
    entries = await db.fetch("SELECT action, source, actor FROM product_history WHERE job_id = $1", final["job_id"])
    assert len(entries) == 180 and {(e["action"], e["source"]) for e in entries} == {("deleted", "undo")}
    assert {e["actor"] for e in entries} == {audit["actor"]}
    assert again.status_code == 409 and "already been undone" in again.json()["error"]["message"]


async def test_undo_of_an_update_import_brings_every_earlier_value_back_sku_case_included(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    rows = [[f"UP-{i}", f"Before {i}", f"desc {i}", "true"] for i in range(120)]
    await import_file(client, csv_bytes(rows, HEADER))
    before = await catalogue(db)
    changed = [[f"up-{i}", f"After {i}", "", "false"] for i in range(120)] + [["NEW-1", "Brand new", "x", "true"]]
    job = await import_file(client, csv_bytes(changed, HEADER))
    assert (job["created"], job["updated"]) == (1, 120)
    assert (await catalogue(db))[0][1] == "up-0"
    final = await undo(client, job["job_id"])
    assert (final["restored"], final["deleted"], final["conflicts"]) == (120, 1, 0)
    assert await catalogue(db) == before


async def test_a_product_changed_since_is_a_conflict_left_alone_unless_forced(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for p in ("A", "B", "C", "D"):
        await create(client, f"C-{p}", f"Was {p}")
    job = await import_file(client, csv_bytes([[f"C-{p}", f"Now {p}", ""] for p in "ABCD"]))
    ids = {row["sku"]: row["id"] for row in await db.fetch("SELECT id, sku FROM product")}
    await client.put(f"/api/products/{ids['C-A']}", json={"name": "Someone else's"})
    await client.delete(f"/api/products/{ids['C-B']}")
    await client.put(f"/api/products/{ids['C-C']}", json={"name": "Briefly"})
    await client.put(f"/api/products/{ids['C-C']}", json={"name": "Now C"})  # changed back: no conflict
    await client.put(f"/api/products/{ids['C-D']}", json={"description": "another field"})  # not one it set

    final = await undo(client, job["job_id"])
    assert (final["status"], final["restored"], final["conflicts"]) == ("completed_with_errors", 2, 2)
    names = dict(await db.fetch("SELECT sku, name FROM product"))
    assert names == {"C-A": "Someone else's", "C-C": "Was C", "C-D": "Was D"}
    assert await db.fetchval("SELECT description FROM product WHERE sku = 'C-D'") == "another field"
    report = await conflicts(client, final["job_id"])
    assert [(r["sku"], r["reason"]) for r in report] == [("C-A", "changed since: name"), ("C-B", "deleted since")]
    assert '"name": "Now A"' in report[0]["job_left"] and "Someone else" in report[0]["current"]

    redo = await undo(client, final["job_id"])  # the redo puts the import's values back where it can
    assert (redo["restored"], redo["conflicts"]) == (2, 0)
    assert dict(await db.fetch("SELECT sku, name FROM product")) == {
        "C-A": "Someone else's",
        "C-C": "Now C",
        "C-D": "Now D",
    }


async def test_a_conflicts_report_is_inert_in_a_spreadsheet(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    sku = '=HYPERLINK("http://evil.example")'
    await create(client, sku, "Was")
    job = await import_file(client, csv_bytes([[sku, "Now", ""]]))
    await client.put(f"/api/products/{await db.fetchval('SELECT id FROM product')}", json={"name": "Edited"})
    final = await undo(client, job["job_id"])
    [row] = await conflicts(client, final["job_id"])
    assert row["sku"] == "'" + sku and row["reason"] == "changed since: name"


async def test_force_overwrites_the_changes_since(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create(client, "FO-1", "Original")
    job = await import_file(client, csv_bytes([["FO-1", "Imported", ""], ["FO-2", "Created", ""]]))
    ids = dict(await db.fetch("SELECT sku, id FROM product"))
    await client.put(f"/api/products/{ids['FO-1']}", json={"name": "Edited"})
    await client.put(f"/api/products/{ids['FO-2']}", json={"name": "Edited too"})
    bad = await client.post(f"/api/upload/{job['job_id']}/undo", params={"force": "perhaps"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "force"
    final = await undo(client, job["job_id"], force="true")
    assert (final["restored"], final["deleted"], final["conflicts"]) == (1, 1, 0)
    assert await catalogue(db) == [(ids["FO-1"], "FO-1", "Original", None, True)]


async def test_undo_then_redo_then_no_more(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create(client, "R-1", "Kept", description="old")
    job = await import_file(client, csv_bytes([["r-1", "Imported", "new"], ["R-2", "Created", ""]]))
    after_import = await catalogue(db)
    undone = await undo(client, job["job_id"])
    assert (undone["restored"], undone["deleted"]) == (1, 1)
    redone = await undo(client, undone["job_id"])
    assert (redone["restored"], redone["deleted"], redone["conflicts"]) == (2, 0, 0)
    assert await catalogue(db) == after_import, "the redo re-creates under the same id"
    refused = await client.post(f"/api/upload/{redone['job_id']}/undo")
    assert refused.status_code == 409 and "redo" in refused.json()["error"]["message"]
    refused = await client.post(f"/api/upload/{undone['job_id']}/undo")
    assert refused.status_code == 409 and "already been undone" in refused.json()["error"]["message"]


async def test_a_product_restored_by_undoing_a_later_import_is_no_conflict(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    first = await import_file(client, csv_bytes([["L-1", "First", ""]]))
    second = await import_file(client, csv_bytes([["L-1", "Second", ""], ["L-2", "Second only", ""]]))
    assert (await undo(client, second["job_id"]))["conflicts"] == 0
    final = await undo(client, first["job_id"])
    assert (final["deleted"], final["conflicts"]) == (1, 0)
    assert await db.fetchval("SELECT count(*) FROM product") == 0


async def test_an_undo_cut_off_mid_way_resumes_after_its_last_committed_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_url: str
) -> None:
    rows = 30 * BATCH_ROWS
    job = await import_file(client, csv_bytes([[f"CUT-{i}", "x", ""] for i in range(rows)]))
    ids = [row["id"] for row in await db.fetch("SELECT id FROM product ORDER BY id")]
    holder = await asyncpg.connect(database_url)
    try:
        # A product of the eleventh batch stays locked, so the undo stops there with ten committed.
        blocker = holder.transaction()
        await blocker.start()
        await holder.execute("SELECT 1 FROM product WHERE id = $1 FOR UPDATE", ids[10 * BATCH_ROWS])
        undo_id = (await request_undo(client, job["job_id"]))["job_id"]
        await wait_rows_done(client, undo_id, 10 * BATCH_ROWS)
        # The undo's own connection (the one holding its job lock) is dropped, as a failover would.
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l"
            " WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = CAST(hashtext($2) AS oid)",
            LOCK_NAMESPACE,
            undo_id,
        )
        await blocker.rollback()
    finally:
        await holder.close()
    final = await wait_final(client, undo_id, within=60)
    assert killed == 1
    assert (final["status"], final["deleted"], final["rows_done"]) == ("completed", rows, rows), final
    assert await db.fetchval("SELECT count(*) FROM product") == 0
    once = "SELECT count(DISTINCT product_id) = count(*) FROM product_history WHERE job_id = $1"
    assert await db.fetchval(once, undo_id), "each product undone once"
    assert await db.fetchval("SELECT attempts FROM import_job WHERE id = $1", undo_id) == 2


async def test_a_running_import_is_cancelled_first(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    job_id = (await upload(client, csv_bytes([[f"RUN-{i}", "x", ""] for i in range(200 * BATCH_ROWS)])))["job_id"]
    await wait_rows_done(client, job_id, BATCH_ROWS)
    final = await undo(client, job_id)
    cancelled = (await client.get(f"/api/upload/{job_id}/progress")).json()
    assert cancelled["status"] == "cancelled" and cancelled["created"] < 200 * BATCH_ROWS
    assert (final["status"], final["deleted"]) == ("completed", cancelled["created"])
    assert await db.fetchval("SELECT count(*) FROM product") == 0


async def test_an_import_older_than_the_history_kept_cannot_be_undone(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    job = await import_file(client, csv_bytes([["OLD-1", "x", ""]]))
    await db.execute("UPDATE import_job SET started_at = now() - interval '91 days' WHERE id = $1", job["job_id"])
    response = await client.post(f"/api/upload/{job['job_id']}/undo")
    assert response.status_code == 409
    message = response.json()["error"]["message"]
    assert "more than 90 days ago" in message and "PRODUCT_HISTORY_DAYS" in message
    assert await db.fetchval("SELECT count(*) FROM import_job") == 1, "no undo job recorded"


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "%00", "x" * 5000])
async def test_undo_of_no_such_job_is_a_404(client: httpx.AsyncClient, job_id: str) -> None:
    assert (await client.post(f"/api/upload/{job_id}/undo")).status_code == 404
    assert (await client.get(f"/api/upload/{job_id}/conflicts")).status_code == 404


async def test_viewers_cannot_undo(live_server: LiveServer, client: httpx.AsyncClient) -> None:
    job = await import_file(client, csv_bytes([["V-1", "x", ""]]))
    async with token_client(live_server, "viewer") as viewer:
        assert (await viewer.post(f"/api/upload/{job['job_id']}/undo")).status_code == 403
        assert (await viewer.get(f"/api/upload/{job['job_id']}/conflicts")).status_code == 200

    async def nothing_queued() -> bool:
        return (await client.get("/api/uploads")).json()["total"] == 1

    await eventually(nothing_queued, 5, what="no undo job")
