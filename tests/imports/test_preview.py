"""Previews (dry runs): counts that match the import that follows, the sample diff, confirm and expiry."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.imports.jobs import prune_import_history
from fulfil.settings import Settings
from tests.support.imports import BATCH_ROWS, BOTH_STORES, csv_bytes, import_file, stored_keys, upload, wait_final
from tests.support.live import LiveServer
from tests.support.sse import read_stream

COUNTS = ("unchanged", "rejected", "skipped", "duplicates_in_file", "rows_done", "rows_total")
HEADER = ("sku", "name", "description", "active")


def catalogue_file() -> bytes:
    return csv_bytes([[f"PV-{i}", f"stored {i}", "old", "true"] for i in range(BATCH_ROWS * 2)], HEADER)


def trial_file() -> bytes:
    """Updates, unchanged rows, new SKUs, a rejected row and repeats within a batch and across batches."""
    rows = [[f"PV-{i}", f"renamed {i}" if i % 3 == 0 else f"stored {i}", "old", ""] for i in range(BATCH_ROWS * 2)]
    rows += [[f"NEWPV-{i}", f"new {i}", "fresh", "false"] for i in range(BATCH_ROWS + 20)]
    rows[7] = ["PV-7", "", "old", ""]  # no name: rejected
    rows[10] = ["pv-4", "repeated in the batch", "x", "yes"]  # overrides row 4, same batch
    rows.append(["newpv-1", "repeated batches later", "z", ""])  # overrides a row two batches earlier
    return csv_bytes(rows, HEADER)


async def uploads_stored(settings: Settings, db: asyncpg.Connection) -> list[str]:
    """The uploaded files in the store (not the rejects reports)."""
    return [key for key in await stored_keys(settings, db, ".csv") if not key.endswith(".rejects.csv")]


async def product_state(db: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await db.fetch("SELECT sku, name, description, active, updated_at FROM product ORDER BY sku")
    return [tuple(row) for row in rows]


async def preview(client: httpx.AsyncClient, content: bytes, **options: str) -> dict[str, Any]:
    reply = await upload(client, content, params={"dry_run": "true", **options})
    assert reply["changes_url"] == f"/api/upload/{reply['job_id']}/changes"
    return await wait_final(client, reply["job_id"])


@BOTH_STORES
@pytest.mark.parametrize("mode", ["upsert", "create_only", "update_only"])
async def test_a_preview_writes_nothing_and_counts_what_its_confirmed_import_then_does(
    client: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings, mode: str
) -> None:
    await import_file(client, catalogue_file())
    before = await product_state(db)
    history = await db.fetchval("SELECT count(*) FROM product_history")
    events = await db.fetchval("SELECT count(*) FROM webhook_event")

    shown = await preview(client, trial_file(), mode=mode)
    assert (shown["status"], shown["dry_run"], shown["mode"]) == ("completed_with_errors", True, mode)
    assert (shown["created"], shown["updated"]) == (0, 0), "a preview creates and updates nothing"
    assert await product_state(db) == before
    assert await db.fetchval("SELECT count(*) FROM product_history") == history
    assert await db.fetchval("SELECT count(*) FROM webhook_event") == events, "no import.completed for a preview"
    assert [c["field"] for c in shown["columns"]] == ["sku", "name", "description", "active"]
    assert await uploads_stored(settings, db) == [f"{shown['job_id']}.csv"], "the file is kept for the confirm"

    reply = await client.post(f"/api/upload/{shown['job_id']}/confirm")
    assert reply.status_code == 202, reply.text
    accepted = reply.json()
    job_id = accepted["job_id"]
    assert job_id != shown["job_id"]
    assert (accepted["progress_url"], accepted["stream_url"]) == (
        f"/api/upload/{job_id}/progress",
        f"/api/upload/{job_id}/stream",
    )
    done = await wait_final(client, job_id)
    assert (done["dry_run"], done["mode"], done["preview_of"]) == (False, mode, shown["job_id"])
    assert (done["created"], done["updated"]) == (shown["would_create"], shown["would_update"])
    assert {name: done[name] for name in COUNTS} == {name: shown[name] for name in COUNTS}
    assert done["skip_reasons"] == shown["skip_reasons"]
    assert shown["duplicates_in_file"] == 2 and shown["rejected"] == 1
    confirmed = (await client.get(f"/api/upload/{shown['job_id']}/progress")).json()
    assert confirmed["confirmed_by"] == job_id
    assert await uploads_stored(settings, db) == [], "the import removes the file once it ends"


async def test_the_changes_list_each_changed_field_old_and_new_at_most_a_hundred(client: httpx.AsyncClient) -> None:
    await import_file(client, catalogue_file())
    shown = await preview(client, trial_file())
    assert (shown["would_create"], shown["would_update"], shown["unchanged"]) == (BATCH_ROWS + 20, 35, 63)
    changes = (await client.get(f"/api/upload/{shown['job_id']}/changes")).json()["changes"]
    assert len(changes) == 100
    assert [c["line"] for c in changes] == sorted(c["line"] for c in changes)
    by_sku = {c["sku"]: c for c in changes}
    assert by_sku["PV-3"] == {
        "line": 5,
        "sku": "PV-3",
        "action": "update",
        "fields": {"name": {"old": "stored 3", "new": "renamed 3"}},
    }
    assert by_sku["pv-4"]["fields"] == {
        "sku": {"old": "PV-4", "new": "pv-4"},
        "name": {"old": "stored 4", "new": "repeated in the batch"},
        "description": {"old": "old", "new": "x"},
    }
    assert "PV-1" not in by_sku, "an unchanged row is no change"
    created = next(c for c in changes if c["action"] == "create")
    assert created["fields"]["sku"] == {"old": None, "new": created["sku"]}
    imported = await import_file(client, csv_bytes([["X-1", "x", ""]]))
    empty = (await client.get(f"/api/upload/{imported['job_id']}/changes")).json()
    assert empty["changes"] == []
    assert (await client.get("/api/upload/00000000-0000-0000-0000-000000000000/changes")).status_code == 404


async def test_a_preview_streams_its_progress_like_an_import(client: httpx.AsyncClient) -> None:
    reply = await upload(client, trial_file(), data={"dry_run": "true"})
    stream = await read_stream(client, reply["job_id"])
    final = stream.events[-1][1]
    assert final["dry_run"] is True
    assert final["status"] == "completed_with_errors"
    assert final["would_create"] == final["rows_total"] - 3, "all but the rejected row and the two overridden"


async def test_confirm_is_refused_twice_for_an_import_and_for_a_failed_preview(client: httpx.AsyncClient) -> None:
    shown = await preview(client, csv_bytes([["C-1", "one", ""]]))
    assert (await client.post(f"/api/upload/{shown['job_id']}/confirm")).status_code == 202
    again = await client.post(f"/api/upload/{shown['job_id']}/confirm")
    assert again.status_code == 409
    assert "confirmed already" in again.json()["error"]["message"]
    imported = await import_file(client, csv_bytes([["C-2", "two", ""]]))
    assert (await client.post(f"/api/upload/{imported['job_id']}/confirm")).status_code == 409
    failed = await preview(client, b"code,title\n1,2\n")
    assert failed["status"] == "failed"
    assert (await client.post(f"/api/upload/{failed['job_id']}/confirm")).status_code == 409
    missing = await client.post("/api/upload/00000000-0000-0000-0000-000000000000/confirm")
    assert missing.status_code == 404


@BOTH_STORES
async def test_an_unconfirmed_preview_expires_with_its_file(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection, settings: Settings
) -> None:
    old = await preview(client, csv_bytes([["E-1", "one", ""]]))
    recent = await preview(client, csv_bytes([["E-2", "two", ""]]))
    await db.execute("UPDATE import_job SET finished_at = now() - interval '25 hours' WHERE id = $1", old["job_id"])

    await prune_import_history({"resources": live_server.resources})

    assert await uploads_stored(settings, db) == [f"{recent['job_id']}.csv"]
    expired = (await client.get(f"/api/upload/{old['job_id']}/progress")).json()
    assert expired["expired_at"] is not None
    refused = await client.post(f"/api/upload/{old['job_id']}/confirm")
    assert refused.status_code == 409
    assert "expired" in refused.json()["error"]["message"]
    assert (await client.post(f"/api/upload/{recent['job_id']}/confirm")).status_code == 202
