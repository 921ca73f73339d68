"""Recovery: a service killed mid-import resumes from its last committed batch with the same counts."""

from __future__ import annotations

import csv
import io
import signal
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from fulfil.imports.jobs import IMPORT_JOB, resume_imports
from fulfil.queue import enqueue
from fulfil.settings import Settings, load_settings
from tests.support.access import token_headers
from tests.support.imports import csv_bytes, stored_keys, upload, wait_final, wait_rows_done
from tests.support.live import LiveServer
from tests.support.ports import free_port
from tests.support.processes import run_service, service_env
from tests.support.waiting import wait_for_health

ROWS = 20_000
# The last rows repeat the first SKUs in lower case: they update products of batch one, and the rows
# they override count as duplicates in the file, also after a resume between the two.
REPEATS = 50
REJECTED_EVERY = 2_000


def crash_file() -> bytes:
    rows = []
    for i in range(ROWS):
        if i >= ROWS - REPEATS:
            rows.append([f"rc-{i - (ROWS - REPEATS)}", "renamed", "d"])
        else:
            rows.append([f"RC-{i}", "" if i % REJECTED_EVERY == 1000 else f"Name {i}", "d"])
    return csv_bytes(rows)


@pytest.mark.parametrize("storage", ["database", "local"])
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_a_stopped_service_resumes_the_import_with_the_counts_of_an_uninterrupted_run(
    stop: signal.Signals, storage: str, database_url: str, redis_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """kill -9 cuts the job mid-batch; SIGTERM gives it a few seconds, then stops it after a batch.

    With the database store the restarted service gets a fresh data directory: nothing it needs
    was on the first one's disk.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    uploads = tmp_path / "uploads"
    env = service_env(
        PORT=port,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MIGRATE_ON_START="false",
        UPLOAD_DIR=uploads,
        UPLOAD_STORAGE=storage,
        DATA_DIR=tmp_path / "data",
        IMPORT_BATCH_ROWS=100,
        LOG_LEVEL="warning",
    )
    headers = await token_headers(database_url)
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as http:
        with run_service("serve", env=env) as proc:
            await wait_for_health(url, proc)
            job_id = (await upload(http, crash_file()))["job_id"]
            await wait_rows_done(http, job_id, 2_000)
            proc.send_signal(stop)
            proc.wait(15)

        cut = await db.fetchrow("SELECT status, rows_done, checkpoint_line FROM import_job")
        if stop == signal.SIGKILL:
            assert cut["status"] == "running"
            assert 2_000 <= cut["rows_done"] < ROWS, "killed mid-way"
        stored = load_settings(upload_dir=uploads, upload_storage=storage, _env_file=None)
        if cut["status"] == "running":
            assert f"{job_id}.csv" in await stored_keys(stored, db), "the file stays until the job ends"
        if storage == "database":
            env.update(UPLOAD_DIR=str(tmp_path / "other-uploads"), DATA_DIR=str(tmp_path / "other-data"))

        with run_service("serve", env=env):
            restarted = time.monotonic()
            await wait_for_health(url)
            final = await wait_final(http, job_id, within=60)
            assert time.monotonic() - restarted < 60
            report = await http.get(f"/api/upload/{job_id}/rejects")
    assert final["status"] == "completed_with_errors"
    rejected = ROWS // REJECTED_EVERY
    expected = {
        "rows_done": ROWS,
        "created": ROWS - REPEATS - rejected,
        "updated": 0,
        "unchanged": 0,
        "duplicates_in_file": REPEATS,
    }
    assert {name: final[name] for name in expected} == expected
    assert final["rejected"] == rejected
    assert await db.fetchval("SELECT count(*) FROM product") == ROWS - REPEATS - rejected
    assert await db.fetchval("SELECT count(*) FROM product WHERE name = 'renamed' AND sku LIKE 'rc-%'") == REPEATS
    assert await db.fetchval("SELECT attempts FROM import_job") == (2 if cut["status"] == "running" else 1)

    lines = [int(row[0]) for row in list(csv.reader(io.StringIO(report.text)))[1:]]
    assert lines == [i + 2 for i in range(1000, ROWS - REPEATS, REJECTED_EVERY)], "each rejected row reported once"
    assert await stored_keys(stored, db) == [f"{job_id}.rejects.csv"], "the upload is deleted when the job ends"
    events = await db.fetchval("SELECT count(*) FROM webhook_event WHERE event_type = 'import.completed'")
    assert events == 1


async def test_the_sweep_requeues_a_job_whose_process_is_gone(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection, settings: Settings
) -> None:
    """The job's file is recorded by its absolute path, as jobs were before the upload store: it is
    read from UPLOAD_DIR whichever store is configured."""
    await live_server.stop_worker()  # no periodic sweep of its own races the one below
    job_id = uuid.uuid4()
    path = settings.uploads_path / f"{job_id}.csv"
    path.write_bytes(csv_bytes([[f"OR-{i}", "orphan", ""] for i in range(120)]))
    await db.execute(
        "INSERT INTO import_job (id, filename, file_path, rejects_path, status, bytes_total, created_at)"
        " VALUES ($1, 'orphan.csv', $2, $3, 'running', $4, now() - interval '1 minute')",
        job_id,
        str(path),
        str(settings.uploads_path / f"{job_id}.rejects.csv"),
        path.stat().st_size,
    )
    assert await resume_imports({"resources": live_server.resources}) == 1
    live_server.start_worker()
    final = await wait_final(client, str(job_id))
    assert (final["status"], final["created"]) == ("completed", 120)
    assert await resume_imports({"resources": live_server.resources}) == 0, "nothing left to resume"


async def test_a_job_whose_file_is_gone_fails_saying_so(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    job_id = str(uuid.uuid4())
    await db.execute(
        "INSERT INTO import_job (id, filename, file_path) VALUES ($1, 'gone.csv', '/nonexistent/gone.csv')",
        uuid.UUID(job_id),
    )
    await enqueue(live_server.resources.queue, IMPORT_JOB, job_id, job_id=job_id)
    final = await wait_final(client, job_id)
    assert final["status"] == "failed"
    assert final["error"] == "The uploaded file (gone.csv) is no longer stored; upload it again."
