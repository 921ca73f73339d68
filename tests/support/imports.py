"""The import API called as a client would: upload a CSV over real HTTP, wait for the job's end."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from fulfil.imports.schemas import FINAL_STATUSES
from fulfil.settings import Settings
from tests.support.waiting import eventually

BATCH_ROWS = 50  # the import tests' batch size (tests/imports/conftest.py), so a few hundred rows span several
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
    "kind",
    "undoes",
    "undone_by",
    "restored",
    "deleted",
    "conflicts",
    "mode",
    "dry_run",
    "mapping",
    "file_format",
    "columns",
    "sample_rows",
    "would_create",
    "would_update",
    "skipped",
    "skip_reasons",
    "duplicates_in_file",
    "preview_of",
    "confirmed_by",
    "expired_at",
}


# Runs a test once with each upload store (tests/imports/conftest.py reads the parameter).
BOTH_STORES = pytest.mark.parametrize("settings", ["database", "local"], indirect=True)


async def stored_keys(settings: Settings, db: asyncpg.Connection, suffix: str = "") -> list[str]:
    """The keys of the files the upload store the settings name holds, ending in `suffix`."""
    if settings.upload_storage == "local":
        folder = settings.uploads_path
        keys = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    else:
        keys = [row["key"] for row in await db.fetch("SELECT DISTINCT key FROM upload_chunk")]
    return sorted(key for key in keys if key.endswith(suffix))


def csv_bytes(rows: list[list[str]], header: tuple[str, ...] = ("sku", "name", "description")) -> bytes:
    """A CSV file: the header, then one line a row (fields joined as given, nothing quoted)."""
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


async def upload(
    client: httpx.AsyncClient,
    content: bytes,
    filename: str = "products.csv",
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST the file as the dashboard does (multipart `file` field, options in `data` form fields or in the
    query's `params`); returns the 202 reply."""
    response = await client.post(
        "/api/upload", files={"file": (filename, content, "text/csv")}, params=params, data=data
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def progress(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's current snapshot."""
    response = await client.get(f"/api/upload/{job_id}/progress")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_final(client: httpx.AsyncClient, job_id: str, within: float = 30) -> dict[str, Any]:
    """The job's snapshot once it is in a final state (completed, failed, cancelled...)."""

    snapshot: dict[str, Any] = {}

    async def final() -> bool:
        snapshot.update(await progress(client, job_id))
        return snapshot["status"] in FINAL_STATUSES

    try:
        await eventually(final, within, what=f"import {job_id} finished")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its last snapshot: {snapshot}") from None
    return snapshot


async def wait_rows_done(client: httpx.AsyncClient, job_id: str, rows: int, within: float = 30) -> None:
    """Wait until the job has committed at least `rows` rows (it is then mid-import, for a big file)."""

    async def reached() -> bool:
        return (await progress(client, job_id))["rows_done"] >= rows  # type: ignore[no-any-return]

    await eventually(reached, within, every=0.01, what=f"import {job_id} past {rows} rows")


async def import_file(
    client: httpx.AsyncClient,
    content: bytes,
    filename: str = "products.csv",
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Upload the file (with any options) and wait for the job's final snapshot."""
    return await wait_final(client, (await upload(client, content, filename, params=params, data=data))["job_id"])
