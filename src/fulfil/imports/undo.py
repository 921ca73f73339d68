"""Undoing a job: the request (checked, recorded, audited, queued) and the conflicts report.

An undo is a job of its own (kind `undo`, run by undo_run.py) with the import's progress, stream
and history. A job is undone once (a failed or cancelled undo can be tried again), an undo can be
undone once (the redo), a redo not again; a job older than the product history kept cannot be.
A job still running is asked to stop first, and the undo waits for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fulfil.access.audit import Actor, write_audit
from fulfil.errors import ApiError
from fulfil.imports import undo_queries
from fulfil.imports.jobs import UNDO_JOB
from fulfil.imports.progress import publish, snapshot_of
from fulfil.imports.schemas import ImportSnapshot
from fulfil.imports.service import cancel_import, not_found
from fulfil.queue import enqueue
from fulfil.resources import Resources
from fulfil.spreadsheet import inert_csv

log = logging.getLogger(__name__)

CONFLICT_COLUMNS = ["product_id", "sku", "reason", "job_left", "current"]
CONFLICTS_PAGE_ROWS = 5_000
RETRYABLE_UNDO = frozenset({"failed", "cancelled"})


def refusal(job: Mapping[str, Any], history_days: int) -> str | None:
    """Why the job cannot be undone, or None when it can."""
    job_id = job["id"]
    if job["kind"] == "undo" and job["undoes_kind"] == "undo":
        return f"Job {job_id} is a redo (the undo of an undo); it cannot be undone again."
    if job["undone_by"] is not None and job["undo_status"] not in RETRYABLE_UNDO:
        return f"Job {job_id} has already been undone (by job {job['undone_by']}); undo that job to redo it."
    started = job["started_at"]
    if history_days and started is not None and started < datetime.now(UTC) - timedelta(days=history_days):
        return (
            f"Job {job_id} started on {started:%Y-%m-%d}, more than {history_days} days ago: the product history"
            " it would be undone from is no longer kept (PRODUCT_HISTORY_DAYS)."
        )
    return None


async def request_undo(resources: Resources, job_id: UUID, actor: Actor, *, force: bool) -> ImportSnapshot:
    """Record the undo of `job_id` as a queued job (audited), stop the job if it runs, queue the undo.

    A 404 when there is no such job, a 409 naming the reason when it cannot be undone.
    """
    db = resources.db
    undo_id = uuid4()
    async with db.transaction():
        row = await db.fetch_one(undo_queries.LOCK_TARGET, {"id": str(job_id)})
        if row is None:
            raise not_found(job_id)
        job = row._mapping
        reason = refusal(job, resources.settings.product_history_days)
        if reason is not None:
            raise ApiError(409, reason, code="cannot_undo")
        filename = f"undo of {job['filename']}"[:255]
        values = {"id": str(undo_id), "filename": filename, "undoes": str(job_id), "force": force}
        created = await db.fetch_one(undo_queries.INSERT_UNDO, values)
        assert created is not None  # INSERT ... RETURNING
        await db.execute(undo_queries.SET_UNDONE_BY, {"id": str(job_id), "undo": str(undo_id)})
        details = {"undoes": str(job_id), "force": force}
        await write_audit(db, actor, "import.undo", f"import {undo_id}", details)
    if job["status"] in ("queued", "running"):
        with contextlib.suppress(ApiError):  # it ended meanwhile: nothing to stop
            await cancel_import(resources, job_id, actor)
    snapshot = snapshot_of(created._mapping)
    await publish(resources.redis, snapshot)
    try:
        await enqueue(resources.queue, UNDO_JOB, str(undo_id), job_id=str(undo_id))
    except Exception as exc:  # the recovery sweep queues it once Redis is back
        log.warning("undo %s saved but not queued yet: %r", undo_id, exc)
    return snapshot


def _json(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


async def conflict_rows(resources: Resources, job_id: UUID) -> AsyncIterator[bytes]:
    """The undo's conflicts as CSV (product_id, sku, reason, what the job left and what is there
    now, as JSON), a page at a time; just the header when there were none. The report is for a
    spreadsheet and a SKU is whatever an upload held, so every cell comes inert."""
    yield inert_csv([CONFLICT_COLUMNS])
    after = 0
    while True:
        values = {"id": str(job_id), "after": after, "limit": CONFLICTS_PAGE_ROWS}
        rows = await resources.db.fetch_all(undo_queries.CONFLICTS_PAGE, values)
        if not rows:
            return
        cells = [[r["product_id"], r["sku"], r["reason"], _json(r["job_left"]), _json(r["current"])] for r in rows]
        yield inert_csv(cells)
        after = rows[-1]["product_id"]
