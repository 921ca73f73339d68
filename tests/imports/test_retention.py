"""Finished imports older than HISTORY_RETENTION_DAYS are forgotten, with their rejects reports;
stored files no job names (an upload whose process died) go after a day."""

import os

import asyncpg
import httpx

from fulfil.imports.jobs import prune_import_history
from fulfil.imports.store import upload_store
from fulfil.settings import Settings
from tests.support.imports import BOTH_STORES, csv_bytes, stored_keys, upload, wait_final
from tests.support.live import LiveServer


@BOTH_STORES
async def test_old_finished_imports_go_with_their_rejects(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection, settings: Settings
) -> None:
    old = await upload(client, csv_bytes([["A-1", "Kept product", ""], ["", "No SKU", ""]]), "old.csv")
    recent = await upload(client, csv_bytes([["B-1", "Another", ""]]), "recent.csv")
    for job in (old, recent):
        await wait_final(client, job["job_id"])
    report = await db.fetchval("SELECT rejects_path FROM import_job WHERE id = $1", old["job_id"])
    assert await stored_keys(settings, db) == [report]
    await db.execute("UPDATE import_job SET finished_at = now() - interval '31 days' WHERE id = $1", old["job_id"])

    removed = await prune_import_history({"resources": live_server.resources})

    assert removed == 1
    assert (await client.get(f"/api/upload/{old['job_id']}/progress")).status_code == 404
    assert (await client.get(f"/api/upload/{recent['job_id']}/progress")).status_code == 200
    assert await stored_keys(settings, db) == []
    assert await db.fetchval("SELECT count(*) FROM product") == 2  # the products themselves stay


async def test_zero_days_keeps_everything(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    job = await upload(client, csv_bytes([["A-1", "Kept", ""]]))
    await wait_final(client, job["job_id"])
    await db.execute("UPDATE import_job SET finished_at = now() - interval '400 days'")
    live_server.resources.settings.history_retention_days = 0

    assert await prune_import_history({"resources": live_server.resources}) == 0
    assert (await client.get(f"/api/upload/{job['job_id']}/progress")).status_code == 200


@BOTH_STORES
async def test_a_stored_file_no_job_names_goes_after_a_day(
    live_server: LiveServer, db: asyncpg.Connection, settings: Settings
) -> None:
    store = upload_store(settings, live_server.resources.db)
    await store.append("abandoned.csv", b"sku,name\n")
    await store.append("recent.csv", b"sku,name\n")
    await db.execute(
        "INSERT INTO import_job (id, filename, file_path, created_at)"
        " VALUES (gen_random_uuid(), 'named.csv', 'named.csv', now() - interval '2 days')"
    )
    await store.append("named.csv", b"sku,name\n")
    if settings.upload_storage == "local":
        day_old = settings.uploads_path.stat().st_mtime - 2 * 86400
        for name in ("abandoned.csv", "named.csv"):
            os.utime(settings.uploads_path / name, (day_old, day_old))
    else:
        await db.execute("UPDATE upload_chunk SET created_at = now() - interval '2 days' WHERE key <> 'recent.csv'")

    await prune_import_history({"resources": live_server.resources})

    assert await stored_keys(settings, db) == ["named.csv", "recent.csv"]
