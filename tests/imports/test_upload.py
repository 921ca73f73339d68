"""Uploading a CSV: multipart and raw bodies, the 202 reply, the snapshot, and what is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx

from fulfil.settings import Settings
from tests.support.access import token_headers
from tests.support.imports import BOTH_STORES, SNAPSHOT_FIELDS, csv_bytes, import_file, stored_keys, upload, wait_final
from tests.support.live import start_live_server

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" * 20


@BOTH_STORES
async def test_multipart_upload_is_accepted_imported_and_its_file_removed(
    client: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings
) -> None:
    content = csv_bytes([[f"SKU-{i}", f"Name {i}", f"Description {i}"] for i in range(120)])
    reply = await upload(client, content, "catalogue.csv")
    job_id = reply["job_id"]
    assert reply["status"] == "queued"
    assert reply["progress_url"] == f"/api/upload/{job_id}/progress"
    assert reply["stream_url"] == f"/api/upload/{job_id}/stream"
    assert reply["bytes_total"] == len(content)

    snapshot = await wait_final(client, job_id)
    assert set(snapshot) == SNAPSHOT_FIELDS
    assert snapshot["status"] == "completed"
    assert snapshot["phase"] == "finished"
    assert snapshot["filename"] == "catalogue.csv"
    assert (snapshot["bytes_done"], snapshot["bytes_total"]) == (len(content), len(content))
    assert (snapshot["rows_done"], snapshot["rows_total"]) == (120, 120)
    assert (snapshot["created"], snapshot["updated"], snapshot["unchanged"], snapshot["rejected"]) == (120, 0, 0, 0)
    assert snapshot["error"] is None
    assert snapshot["rows_per_second"] > 0
    assert snapshot["started_at"] <= snapshot["finished_at"]

    row = await db.fetchrow("SELECT sku, name, description FROM product WHERE sku = 'SKU-7'")
    assert dict(row) == {"sku": "SKU-7", "name": "Name 7", "description": "Description 7"}
    assert await db.fetchval("SELECT count(*) FROM product") == 120
    assert await stored_keys(settings, db) == [], "the uploaded file is deleted when the job ends"


async def test_raw_text_csv_body_takes_its_name_from_the_query(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    content = csv_bytes([["RAW-1", "Raw one", ""], ["RAW-2", "Raw two", "two"]])
    response = await client.post(
        "/api/upload?filename=raw.csv", content=content, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == 202, response.text
    snapshot = await wait_final(client, response.json()["job_id"])
    assert (snapshot["status"], snapshot["filename"], snapshot["created"]) == ("completed", "raw.csv", 2)
    assert await db.fetchval("SELECT description FROM product WHERE sku = 'RAW-1'") is None


async def test_raw_body_streamed_in_chunks_without_a_length(client: httpx.AsyncClient) -> None:
    rows = [[f"CH-{i}", f"Chunked {i}", "x" * 50] for i in range(400)]
    content = csv_bytes(rows)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 1000):
            yield content[start : start + 1000]

    response = await client.post("/api/upload", content=chunks(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    snapshot = await wait_final(client, response.json()["job_id"])
    assert (snapshot["created"], snapshot["bytes_total"], snapshot["filename"]) == (400, len(content), "upload.csv")


async def test_completed_event_goes_to_the_webhook_outbox_with_the_counts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, csv_bytes([["EV-1", "One", ""], ["EV-2", "", ""]]))
    rows = await db.fetch("SELECT payload FROM webhook_event WHERE event_type = 'import.completed'")
    assert len(rows) == 1
    payload = json.loads(rows[0]["payload"])
    assert payload["event"] == "import.completed"
    data = payload["data"]
    assert data["job_id"] == snapshot["job_id"]
    assert (data["status"], data["created"], data["rejected"], data["rows_total"]) == ("completed_with_errors", 1, 1, 2)


async def test_empty_body_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/upload", content=b"", headers={"Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]
    response = await client.post("/api/upload", files={"file": ("empty.csv", b"", "text/csv")})
    assert response.status_code == 400


async def test_multipart_without_a_file_field_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/upload", files={"document": ("p.csv", b"sku,name\na,b\n", "text/csv")})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "`file` field" in error["message"]
    assert error["details"][0]["field"] == "file"


@BOTH_STORES
async def test_a_png_is_a_415_that_says_what_it_looks_like(
    client: httpx.AsyncClient, settings: Settings, db: asyncpg.Connection
) -> None:
    response = await client.post("/api/upload", files={"file": ("photo.csv", PNG, "text/csv")})
    assert response.status_code == 415
    assert "PNG image" in response.json()["error"]["message"]
    response = await client.post("/api/upload", content=PNG, headers={"Content-Type": "text/csv"})
    assert response.status_code == 415
    assert await stored_keys(settings, db) == [], "a refused upload leaves nothing stored"


async def test_an_unaccepted_content_type_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/upload", json={"sku": "x"})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]["message"]


async def test_over_the_size_limit_is_a_413_that_says_the_limit(settings: Settings, db: asyncpg.Connection) -> None:
    # No worker: only the upload is under test, not the import of a megabyte of rows.
    live = await start_live_server(settings.model_copy(update={"max_upload_mb": 1, "worker_in_process": False}))
    too_big = b"sku,name\n" + b"A,B\n" * (1024 * 1024 // 4 + 10)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(too_big), 64 * 1024):
            yield too_big[start : start + 64 * 1024]

    try:
        async with httpx.AsyncClient(
            base_url=live.url, timeout=30, headers=await token_headers(live.resources.db)
        ) as http:
            declared = await http.post("/api/upload", content=too_big, headers={"Content-Type": "text/csv"})
            streamed = await http.post("/api/upload", content=chunks(), headers={"Content-Type": "text/csv"})
            form = await http.post("/api/upload", files={"file": ("big.csv", too_big, "text/csv")})
            under = await http.post("/api/upload", content=too_big[: 1024 * 1024], headers={"Content-Type": "text/csv"})
    finally:
        await live.stop()
    for response in (declared, streamed, form):
        assert response.status_code == 413
        assert "1 MB" in response.json()["error"]["message"]
    assert under.status_code == 202
    assert len(await stored_keys(settings, db)) == 1, "only the upload under the limit is kept"


async def test_history_lists_imports_newest_first(client: httpx.AsyncClient) -> None:
    first = await import_file(client, csv_bytes([["H-1", "One", ""]]), "first.csv")
    second = await import_file(client, csv_bytes([["H-2", "Two", ""]]), "second.csv")
    response = await client.get("/api/uploads", params={"page_size": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"]) == (2, 1, 1)
    assert [item["job_id"] for item in body["items"]] == [second["job_id"]]
    page_two = (await client.get("/api/uploads", params={"page": 2, "page_size": 1})).json()
    assert [item["filename"] for item in page_two["items"]] == [first["filename"]]
    assert (await client.get("/api/uploads", params={"size": 3})).status_code == 422


async def test_unknown_jobs_are_404s(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for path in ("progress", "stream", "rejects"):
        for job_id in (missing, "not-a-uuid"):
            response = await client.get(f"/api/upload/{job_id}/{path}")
            assert response.status_code == 404, (path, job_id)
            assert job_id in response.json()["error"]["message"]
    assert (await client.post(f"/api/upload/{missing}/cancel")).status_code == 404


async def test_a_windows_path_and_odd_characters_in_the_name_are_made_safe(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/upload",
        params={"filename": 'C:\\Users\\Zoë\\prix "été".csv'},
        content=b"sku,name\nW-1,\n",
        headers={"Content-Type": "text/csv"},
    )
    snapshot = await wait_final(client, response.json()["job_id"])
    assert snapshot["filename"] == 'prix "été".csv'
    report = await client.get(f"/api/upload/{snapshot['job_id']}/rejects")
    assert report.headers["content-disposition"] == (
        "attachment; filename=\"prix_t-rejects.csv\"; filename*=UTF-8''prix%20%22%C3%A9t%C3%A9%22-rejects.csv"
    )
    assert report.text.splitlines() == ["line,reason,sku,name", "2,name is required and cannot be blank,W-1,"]
