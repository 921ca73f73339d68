"""Helpers of the import tests: uploads over real HTTP and waiting for a job's end."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from fulfil.imports.schemas import FINAL_STATUSES
from tests.conftest import eventually

BATCH_ROWS = 50  # the import tests' batch size (see conftest.py), so a few hundred rows span several
SNAPSHOT_FIELDS = {
    "job_id",
    "filename",
    "status",
    "phase",
    "bytes_total",
    "bytes_done",
    "rows_done",
    "rows_total",
    "created",
    "updated",
    "unchanged",
    "rejected",
    "rows_per_second",
    "eta_seconds",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "version",
}


def csv_bytes(rows: list[list[str]], header: tuple[str, ...] = ("sku", "name", "description")) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


async def upload(client: httpx.AsyncClient, content: bytes, filename: str = "products.csv") -> dict[str, Any]:
    """POST the file as the dashboard does (multipart `file` field); returns the 202 reply."""
    response = await client.post("/api/upload", files={"file": (filename, content, "text/csv")})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_final(client: httpx.AsyncClient, job_id: str, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/api/upload/{job_id}/progress")
        assert response.status_code == 200, response.text
        snapshot = response.json()
        if snapshot["status"] in FINAL_STATUSES:
            return snapshot  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise TimeoutError(f"import {job_id} still {snapshot['status']} after {within:.0f} s: {snapshot}")
        await asyncio.sleep(0.05)


async def wait_rows_done(client: httpx.AsyncClient, job_id: str, rows: int, within: float = 30) -> None:
    """Wait until the job has committed at least `rows` rows (it is then mid-import, for a big file)."""

    async def reached() -> bool:
        return (await client.get(f"/api/upload/{job_id}/progress")).json()["rows_done"] >= rows  # type: ignore[no-any-return]

    await eventually(reached, within, every=0.01)


async def import_file(client: httpx.AsyncClient, content: bytes, filename: str = "products.csv") -> dict[str, Any]:
    return await wait_final(client, (await upload(client, content, filename))["job_id"])
