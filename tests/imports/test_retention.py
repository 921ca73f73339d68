"""Finished imports older than HISTORY_RETENTION_DAYS are forgotten, with their rejects files."""

import anyio
import asyncpg
import httpx

from fulfil.imports.jobs import prune_import_history
from tests.support.imports import csv_bytes, upload, wait_final
from tests.support.live import LiveServer


async def test_old_finished_imports_go_with_their_rejects(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    old = await upload(client, csv_bytes([["A-1", "Kept product", ""], ["", "No SKU", ""]]), "old.csv")
    recent = await upload(client, csv_bytes([["B-1", "Another", ""]]), "recent.csv")
    for job in (old, recent):
        await wait_final(client, job["job_id"])
    report = anyio.Path(await db.fetchval("SELECT rejects_path FROM import_job WHERE id = $1", old["job_id"]))
    assert await report.exists()
    await db.execute("UPDATE import_job SET finished_at = now() - interval '31 days' WHERE id = $1", old["job_id"])

    removed = await prune_import_history({"resources": live_server.resources})

    assert removed == 1
    assert (await client.get(f"/api/upload/{old['job_id']}/progress")).status_code == 404
    assert (await client.get(f"/api/upload/{recent['job_id']}/progress")).status_code == 200
    assert not await report.exists()
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
