"""The imports' use-cases that record, end and cancel a job, list the history and read one job's snapshot.

A job ends (by itself, or cancelled while still queued) in one transaction with its
`import.completed` webhook event (`import.undone` for an undo); starting and cancelling one are audited in the same
transaction as the change. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from databases import Database

from fulfil.access.audit import Actor, write_audit
from fulfil.errors import ApiError
from fulfil.imports import profiles, queries
from fulfil.imports.options import ImportOptions, bad_option
from fulfil.imports.progress import load_snapshot, publish, snapshot_of
from fulfil.imports.rejects import rejects_key
from fulfil.imports.schemas import FINAL_STATUSES, Change, ChangeList, HistoryQuery, ImportHistory, ImportSnapshot
from fulfil.imports.store import upload_store
from fulfil.resources import Resources
from fulfil.validation import jsonb
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


def _job_values(
    job_id: UUID, filename: str, key: str, rejects: str, size: int, options: ImportOptions
) -> dict[str, Any]:
    return {
        "id": str(job_id),
        "filename": filename,
        "file_path": key,
        "rejects_path": rejects,
        "bytes_total": size,
        "mode": options.mode,
        "mapping": None if options.mapping is None else json.dumps(options.mapping),
        "dry_run": options.dry_run,
        "preview_of": None,
    }


async def resolve_profile(db: Database, options: ImportOptions) -> ImportOptions:
    """The options with a named profile's mapping in place of its name; a 400 naming `profile` if there is none."""
    if options.profile is None:
        return options
    mapping = await profiles.mapping_of(db, options.profile)
    if mapping is None:
        raise bad_option("profile", f"no import profile is named {options.profile[:100]!r}")
    return replace(options, mapping=mapping)


async def record_import(
    db: Database, job_id: UUID, filename: str, key: str, rejects: str, size: int, actor: Actor, options: ImportOptions
) -> ImportSnapshot:
    """The queued job for the upload stored under `key`, and its audit row, in one transaction."""
    values = _job_values(job_id, filename, key, rejects, size, options)
    detail = {"filename": filename, "bytes": size, "mode": options.mode, "dry_run": options.dry_run}
    async with db.transaction():
        row = await db.fetch_one(queries.INSERT_JOB, values)
        assert row is not None  # INSERT ... RETURNING
        await write_audit(db, actor, "import.started", f"import {job_id}", detail)
    return snapshot_of(row._mapping)


async def confirm_preview(resources: Resources, preview_id: UUID, actor: Actor) -> ImportSnapshot:
    """The import of a finished preview's stored file, with its mode and mapping; queued by the caller.

    404 for no such job, 409 for a job that is not a finished preview, or one already confirmed or expired.
    """
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.LOCK_PREVIEW, {"id": str(preview_id)})
        if row is None:
            raise not_found(preview_id)
        job = row._mapping
        if not job["dry_run"]:
            raise ApiError(409, f"Job {preview_id} is an import, not a preview; there is nothing to confirm.")
        if job["status"] not in ("completed", "completed_with_errors"):
            raise ApiError(
                409, f"Preview {preview_id} has not finished well (status {job['status']}); nothing to confirm."
            )
        if job["confirmed_by"] is not None:
            raise ApiError(409, f"Preview {preview_id} was confirmed already, by import {job['confirmed_by']}.")
        if job["expired_at"] is not None:
            raise ApiError(409, f"Preview {preview_id} expired and its file is gone; upload the file again.")
        options = ImportOptions(job["mode"], jsonb(job["mapping"]))
        import_id = uuid4()
        values = _job_values(
            import_id, job["filename"], job["file_path"], rejects_key(str(import_id)), job["bytes_total"], options
        )
        created = await db.fetch_one(queries.INSERT_JOB, values | {"preview_of": str(preview_id)})
        assert created is not None  # INSERT ... RETURNING
        await db.execute(queries.MARK_CONFIRMED, {"id": str(preview_id), "import_id": str(import_id)})
        detail = {
            "filename": job["filename"],
            "bytes": job["bytes_total"],
            "mode": job["mode"],
            "preview": str(preview_id),
        }
        await write_audit(db, actor, "import.started", f"import {import_id}", detail)
    snapshot = snapshot_of(created._mapping)
    await publish(resources.redis, snapshot)
    preview = await load_snapshot(resources, preview_id, fresh=True)
    if preview is not None:
        await publish(resources.redis, preview)
    return snapshot


async def list_changes(db: Database, job_id: UUID) -> ChangeList:
    """A preview's sample of changes, in file order (none for an import)."""
    if await db.fetch_one(queries.GET_SNAPSHOT, {"id": str(job_id)}) is None:
        raise not_found(job_id)
    rows = await db.fetch_all(queries.LIST_CHANGES, {"id": str(job_id)})
    changes = []
    for row in rows:
        data = dict(row._mapping)
        changes.append(Change.model_validate(data | {"fields": jsonb(data["fields"])}))
    return ChangeList(job_id=job_id, changes=changes)


async def expire_previews(resources: Resources) -> int:
    """Drop the files of previews not confirmed within PREVIEW_TTL_HOURS; they stay in the history as expired."""
    rows = await resources.db.fetch_all(queries.EXPIRE_PREVIEWS, {"hours": resources.settings.preview_ttl_hours})
    for row in rows:
        key = row["file_path"]
        await upload_store(resources.settings, resources.db, key).remove(key)
    return len(rows)


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
        if not snapshot.dry_run:  # a preview changed nothing: no webhook is told of it
            await record_event(resources.db, *finished_event(snapshot))
        if cancelled_by is not None:
            await write_audit(resources.db, cancelled_by, "import.cancelled", f"import {job_id}")
    await publish(resources.redis, snapshot)
    key = row._mapping["file_path"]
    # An undo has no file; a preview that finished well keeps its file for the confirm (or the expiry).
    keep = snapshot.dry_run and status in ("completed", "completed_with_errors")
    if key and not keep:
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
            "mode",
            "skipped",
            "duplicates_in_file",
            "preview_of",
        },
    )
