"""The database drops every connection (as a managed PostgreSQL does on failover): nothing half-done, all recovers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.imports.schemas import FINAL_STATUSES
from tests.support.imports import csv_bytes, upload, wait_rows_done
from tests.support.live import LiveServer
from tests.support.sse import follow_to_end
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

BROKEN_POOL = ("another operation", "released back to the pool")


async def terminate_backends(db: asyncpg.Connection) -> int:
    """End every other session on the test's database, as a failover does; returns how many."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


def pool_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if any(text in r.getMessage() for text in BROKEN_POOL)] + [
        r.exc_text or "" for r in caplog.records if r.exc_text and any(text in r.exc_text for text in BROKEN_POOL)
    ]


async def final_snapshot(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's final snapshot, polling through the outage: meanwhile a reply is a 200 or a 503 naming the database."""

    async def final() -> dict[str, Any] | None:
        response = await client.get(f"/api/upload/{job_id}/progress")
        if response.status_code == 503:
            assert "database" in response.json()["error"]["message"].lower()
            return None
        assert response.status_code == 200, response.text
        snapshot: dict[str, Any] = response.json()
        return snapshot if snapshot["status"] in FINAL_STATUSES else None

    return await eventually(final, within=60, what=f"import {job_id} finished")  # type: ignore[no-any-return]


async def test_terminated_connections_mid_import_end_with_exact_counts(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id = (await upload(client, csv_bytes([[f"T-{i}", f"P {i}", "d"] for i in range(6000)])))["job_id"]
    watchers = [asyncio.create_task(follow_to_end(client, job_id)) for _ in range(3)]
    try:
        await wait_rows_done(client, job_id, 500)
        assert await terminate_backends(db) > 0
        final = await final_snapshot(client, job_id)
        streams = await asyncio.gather(*watchers)
    finally:
        for watcher in watchers:
            watcher.cancel()
    assert (final["status"], final["created"], final["rows_done"]) == ("completed", 6000, 6000), final
    assert await db.fetchval("SELECT count(*) FROM product") == 6000
    for stream in streams:
        assert stream.events[-1][1]["status"] == "completed"
    assert pool_errors(caplog) == []
