"""The products domain's jobs: a bulk action too large for one batch (`run_bulk_job`), the sweep
that queues again a bulk job whose process is gone (`resume_bulk_jobs`), and the hourly clean-up.

A bulk job holds a PostgreSQL session lock on a connection of its own while it runs, so the
sweep (`fulfil.orphans`) tells an orphaned job from a running one.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from uuid import UUID

import anyio

from fulfil.db import dedicated_connection
from fulfil.orphans import requeue_orphans
from fulfil.products import history, queries, service
from fulfil.resources import Resources

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10
# A job queued this recently is left to the request that is queueing it.
QUEUED_GRACE_SECONDS = 30.0


async def run_bulk_job(ctx: dict[str, Any], job_id: str) -> str:
    """Run or resume the bulk job `job_id` unless another process holds it; its status at the end."""
    resources: Resources = ctx["resources"]
    async with dedicated_connection(resources.database_url) as conn:
        if not await conn.fetchval(queries.TRY_BULK_LOCK, job_id):
            return "already running elsewhere"
        try:
            return await service.run_bulk_job(resources, UUID(job_id))
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock_all()")


async def resume_bulk_jobs(ctx: dict[str, Any], queued_grace: float = QUEUED_GRACE_SECONDS) -> int:
    """The sweep: queue again every unfinished bulk job no live process holds; returns how many."""
    resources: Resources = ctx["resources"]
    return await requeue_orphans(
        resources, queries.ORPHANED_BULK_JOBS, queued_grace, lambda row: service.BULK_JOB, "bulk job"
    )


async def prune_product_history(ctx: dict[str, Any]) -> None:
    """Hourly: forget history entries older than PRODUCT_HISTORY_DAYS (0 keeps them), and bulk
    jobs finished a week ago (their events and audit rows stay)."""
    resources: Resources = ctx["resources"]
    await history.prune(resources.db, resources.settings.product_history_days)
    await resources.db.execute(queries.PRUNE_BULK_JOBS)
