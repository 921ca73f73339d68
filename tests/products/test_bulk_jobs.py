"""Bulk actions over more than one batch (10,000 products) run as a job: a 202 at once, progress
to poll as each batch commits, one summary event at the end, and a job whose queue entry was lost
picked up again by the sweep."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.products import jobs, queries
from tests.support.live import LiveServer
from tests.support.products import events
from tests.support.waiting import eventually

MANY = queries.BULK_JOB_ABOVE + 250


@pytest.fixture
async def many(db: asyncpg.Connection) -> None:
    """MANY active "Bulk" products (more than one batch) and three "Other" ones."""
    await db.execute(
        "INSERT INTO product (sku, name) SELECT 'B' || i, 'Bulk ' || i FROM generate_series(1, $1) i", MANY
    )
    await db.execute("INSERT INTO product (sku, name) SELECT 'O' || i, 'Other ' || i FROM generate_series(1, 3) i")


async def start(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a bulk action that must become a job; its reply."""
    response = await client.post(f"/api/products/{path}", json=body)
    assert response.status_code == 202, response.text
    reply: dict[str, Any] = response.json()
    assert (reply["matched"], reply["affected"], reply["dry_run"]) == (MANY, 0, False)
    return reply


async def finished(client: httpx.AsyncClient, job: dict[str, Any]) -> dict[str, Any]:
    """Poll the job's progress_url until it is completed or failed; the final state."""

    async def poll() -> dict[str, Any] | None:
        state: dict[str, Any] = (await client.get(job["progress_url"])).json()
        return state if state["status"] in ("completed", "failed") else None

    return await eventually(poll, within=60, what="the bulk job finished")  # type: ignore[no-any-return]


@pytest.mark.usefixtures("many")
async def test_a_large_filter_delete_runs_as_a_job_with_one_summary_event(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    dry = (await client.post("/api/products/bulk-delete", json={"filter": {"name": "bulk"}, "dry_run": True})).json()
    assert dry == {"matched": MANY, "affected": MANY, "dry_run": True, "job": None}, "a dry run stays a count"
    job = (await start(client, "bulk-delete", {"filter": {"name": "bulk"}}))["job"]
    assert job["action"] == "delete" and job["status"] in ("queued", "running", "completed")
    assert job["progress_url"] == f"/api/products/bulk-jobs/{job['job_id']}"
    final = await finished(client, job)
    assert (final["status"], final["matched"], final["affected"], final["error"]) == ("completed", MANY, MANY, None)
    assert final["finished_at"] is not None
    assert await db.fetchval("SELECT string_agg(sku, ',' ORDER BY id) FROM product") == "O1,O2,O3"
    [(event_type, payload)] = await events(db)
    assert (event_type, payload["data"]) == ("product.bulk_deleted", {"count": MANY, "filter": {"name": "bulk"}})
    audit = await db.fetchrow("SELECT action, actor, details FROM audit_event ORDER BY id DESC LIMIT 1")
    me = (await client.get("/api/auth/me")).json()
    assert (audit["action"], audit["actor"]) == ("products.bulk_deleted", me["email"]), "as the user who asked"
    assert json.loads(audit["details"]) == {"matched": MANY, "affected": MANY, "filter": {"name": "bulk"}}
    entries = await db.fetchrow("SELECT count(*) AS n, count(DISTINCT actor) AS actors FROM product_history")
    assert (entries["n"], entries["actors"]) == (MANY, 1), "a history entry per product, by that user"


@pytest.mark.usefixtures("many")
async def test_a_large_update_shows_its_progress_batch_by_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_url: str
) -> None:
    # A product of the second batch held locked: the job commits the first batch, then waits.
    blocker = await asyncpg.connect(database_url)
    try:
        locked = await blocker.fetchval("SELECT id FROM product ORDER BY id OFFSET $1 LIMIT 1", queries.BULK_BATCH)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM product WHERE id = $1 FOR UPDATE", locked)
        body = {"filter": {"name": "bulk"}, "set": {"active": False}}
        job = (await start(client, "bulk-update", body))["job"]

        async def first_batch_done() -> dict[str, Any] | None:
            state: dict[str, Any] = (await client.get(job["progress_url"])).json()
            return state if state["affected"] == queries.BULK_BATCH else None

        midway = await eventually(first_batch_done, within=30, what="the first batch committed")
        assert midway["status"] == "running" and midway["finished_at"] is None
        assert await events(db) == [], "no summary event before the end"
        await transaction.rollback()
    finally:
        await blocker.close()
    final = await finished(client, job)
    assert (final["status"], final["affected"]) == ("completed", MANY)
    assert await db.fetchval("SELECT count(*) FROM product WHERE active") == 3
    [(event_type, payload)] = await events(db)
    assert event_type == "product.bulk_updated"
    assert payload["data"] == {"count": MANY, "filter": {"name": "bulk"}, "set": {"active": False}}


@pytest.mark.usefixtures("many")
async def test_a_job_whose_queue_entry_was_lost_is_resumed_by_the_sweep(
    client: httpx.AsyncClient, db: asyncpg.Connection, live_server: LiveServer
) -> None:
    await live_server.stop_worker()
    job = (await start(client, "bulk-update", {"filter": {"q": "bulk"}, "set": {"active": False}}))["job"]
    await live_server.resources.redis.flushdb()  # Redis came back empty: the queued job is gone
    live_server.start_worker()
    assert await jobs.resume_bulk_jobs({"resources": live_server.resources}, queued_grace=0) == 1
    final = await finished(client, job)
    assert (final["status"], final["affected"]) == ("completed", MANY)
    assert [event_type for event_type, _ in await events(db)] == ["product.bulk_updated"]


async def test_an_unknown_or_malformed_job_id_is_a_404(client: httpx.AsyncClient) -> None:
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "%00"):
        response = await client.get(f"/api/products/bulk-jobs/{job_id}")
        assert response.status_code == 404, (job_id, response.text)


async def test_a_job_whose_filter_this_version_cannot_read_fails_changing_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection, live_server: LiveServer
) -> None:
    await db.execute("INSERT INTO product (sku, name) VALUES ('KEEP', 'Kept')")
    job_id = await db.fetchval(
        "INSERT INTO product_bulk_job (id, action, filter, matched) "
        "VALUES (gen_random_uuid(), 'delete', '{\"colour\": \"red\"}', 20000) RETURNING id"
    )
    assert await jobs.resume_bulk_jobs({"resources": live_server.resources}, queued_grace=0) == 1
    final = await finished(client, {"progress_url": f"/api/products/bulk-jobs/{job_id}"})
    assert (final["status"], final["affected"]) == ("failed", 0)
    assert "nothing was changed" in final["error"]
    assert await db.fetchval("SELECT count(*) FROM product") == 1 and await events(db) == []
