"""The imports' use-cases that record, end and cancel a job, list the history and read one job's snapshot.

A job ends (by itself, or cancelled while still queued) in one transaction with its
`import.completed` webhook event (`import.undone` for an undo); starting and cancelling one are audited in the same
transaction as the change. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from databases import Database

from fulfil.access.audit import Actor, write_audit
from fulfil.errors import ApiError
from fulfil.imports import queries
from fulfil.imports.progress import load_snapshot, publish, snapshot_of
from fulfil.imports.schemas import FINAL_STATUSES, HistoryQuery, ImportHistory, ImportSnapshot
from fulfil.imports.store import upload_store
from fulfil.resources import Resources
from fulfil.webhooks.outbox import record_event, relay_soon

log = logging.getLogger(__name__)

PHASES = {"completed": "finished", "completed_with_errors": "finished", "failed": "failed", "cancelled": "cancelled"}


def not_found(job_id: UUID | str) -> ApiError:
    return ApiError(404, f"No import job with id {str(job_id)!r}")


async def get_snapshot(resources: Resources, job_id: UUID, *, fresh: bool = True) -> ImportSnapshot:
    """The job's snapshot (`fresh`: from its row, not Redis's copy); a 404 when there is no such job."""
    snapshot = await load_snapshot(resources, job_id, fresh=fresh)
    if snapshot is None:
        raise not_found(job_id)
    return snapshot


async def list_imports(db: Database, query: HistoryQuery) -> ImportHistory:
    """Every import, newest first, as snapshots."""
    rows = await db.fetch_all(queries.LIST_SNAPSHOTS, query.window())
    total = await db.fetch_val(queries.COUNT_JOBS)
    return ImportHistory.of([snapshot_of(row._mapping) for row in rows], query, total)


async def record_import(
    db: Database, job_id: UUID, filename: str, key: str, rejects: str, size: int, actor: Actor
) -> ImportSnapshot:
    """The queued job for the upload stored under `key`, and its audit row, in one transaction."""
    values = {
        "id": str(job_id),
        "filename": filename,
        "file_path": key,
        "rejects_path": rejects,
        "bytes_total": size,
    }
    async with db.transaction():
        row = await db.fetch_one(queries.INSERT_JOB, values)
        assert row is not None  # INSERT ... RETURNING
        await write_audit(db, actor, "import.started", f"import {job_id}", {"filename": filename, "bytes": size})
    return snapshot_of(row._mapping)


async def _finish(
    resources: Resources,
    statement: str,
    job_id: UUID,
    status: str,
    error: str | None,
    cancelled_by: Actor | None = None,
) -> ImportSnapshot | None:
    """End the job with `statement` and write its `import.completed` event in the same transaction
    (with the audit row of whoever cancelled it, if someone did).

    Then publish the final snapshot, remove the uploaded file (the rejects report stays) and nudge
    the webhook relay. None if the statement matched no job (it had ended, or was not queued).
    """
    async with resources.db.transaction():
        row = await resources.db.fetch_one(
            statement, {"id": str(job_id), "status": status, "phase": PHASES[status], "error": error}
        )
        if row is None:
            return None
        snapshot = snapshot_of(row._mapping)
        await record_event(resources.db, *finished_event(snapshot))
        if cancelled_by is not None:
            await write_audit(resources.db, cancelled_by, "import.cancelled", f"import {job_id}")
    await publish(resources.redis, snapshot)
    key = row._mapping["file_path"]
    if key:  # an undo has no file
        await upload_store(resources.settings, resources.db, key).remove(key)
    await relay_soon(resources)
    log.info("import %s %s%s", job_id, status, f": {error}" if error else "")
    return snapshot


async def finish_import(resources: Resources, job_id: UUID, status: str, error: str | None) -> ImportSnapshot | None:
    """The job ends itself with `status`; None if it had already ended."""
    return await _finish(resources, queries.FINISH_JOB, job_id, status, error)


async def cancel_import(resources: Resources, job_id: UUID, actor: Actor) -> ImportSnapshot:
    """A queued job is cancelled at once; a running one is asked to stop after the batch it is writing.

    A 404 when there is no such job, a 409 when it has ended or is just starting.
    """
    snapshot = await _finish(resources, queries.FINISH_QUEUED, job_id, "cancelled", None, cancelled_by=actor)
    if snapshot is not None:
        return snapshot
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.REQUEST_CANCEL, {"id": str(job_id)})
        if row is not None:
            await write_audit(db, actor, "import.cancelled", f"import {job_id}")
    if row is not None:
        return snapshot_of(row._mapping)
    current = await get_snapshot(resources, job_id)
    if current.status in FINAL_STATUSES:
        raise ApiError(409, f"Import {job_id} has already ended (status {current.status}); nothing to cancel.")
    raise ApiError(409, f"Import {job_id} is starting; try again in a moment.")


def finished_event(snapshot: ImportSnapshot) -> tuple[str, dict[str, Any]]:
    """The webhook event a job's end sends: `import.completed`, or `import.undone` for an undo."""
    if snapshot.kind == "undo":
        return "import.undone", undone_event(snapshot)
    return "import.completed", completed_event(snapshot)


def undone_event(snapshot: ImportSnapshot) -> dict[str, Any]:
    """One event per undo with its counts, never one per product."""
    return snapshot.model_dump(
        mode="json",
        include={
            "job_id",
            "undoes",
            "status",
            "restored",
            "deleted",
            "conflicts",
            "unchanged",
            "error",
            "started_at",
            "finished_at",
        },
    )


def completed_event(snapshot: ImportSnapshot) -> dict[str, Any]:
    """The webhook's data: one event per import with its counts, never one per row."""
    return snapshot.model_dump(
        mode="json",
        include={
            "job_id",
            "filename",
            "status",
            "rows_total",
            "rows_done",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "error",
            "started_at",
            "finished_at",
        },
    )
