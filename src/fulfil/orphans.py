"""Jobs whose row in PostgreSQL is the truth, and the sweep that queues again the ones whose process died.

Such a job holds a PostgreSQL session lock (namespace, hash of its id) on a connection of its own
while it runs: a process killed mid-job loses the connection and the lock, which is how the sweep
tells an orphaned job from a running one, and queues it again at once instead of waiting for arq's
in-progress key to expire. Imports and bulk product actions both work this way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fulfil.queue import JobName, enqueue, forget_job, in_progress
from fulfil.resources import Resources

log = logging.getLogger(__name__)


def try_lock(namespace: int) -> str:
    """The statement that takes job `$1`'s session lock, or answers false when a process holds it."""
    return f"SELECT pg_try_advisory_lock({namespace}, hashtext($1))"


def orphaned_jobs(table: str, namespace: int, columns: str = "j.id, j.status") -> str:
    """Jobs of `table` to (re)queue: running ones whose session lock nobody holds, and queued ones
    older than `:queued_grace` seconds that arq may have lost (enqueueing a known id is a no-op)."""
    return f"""
SELECT {columns} FROM {table} j
WHERE j.status IN ('queued', 'running')
  AND (j.status = 'running' OR j.created_at < now() - make_interval(secs => :queued_grace))
  AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = {namespace} AND l.objsubid = 2
      AND l.objid = CAST(hashtext(CAST(j.id AS text)) AS oid)
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  )
ORDER BY j.created_at
"""


async def requeue_orphans(
    resources: Resources,
    statement: str,
    queued_grace: float,
    job_name: Callable[[Any], JobName],
    what: str,
) -> int:
    """Queue again every job `statement` (an `orphaned_jobs`) finds, each under `job_name(row)`;
    returns how many were queued.

    A running one (or one arq still marks in progress) has its stale queue entry dropped first."""
    rows = await resources.db.fetch_all(statement, {"queued_grace": queued_grace})
    queued = 0
    for row in rows:
        job_id = str(row["id"])
        if row["status"] == "running" or await in_progress(resources.queue, job_id):
            await forget_job(resources.queue, job_id)
        if await enqueue(resources.queue, job_name(row), job_id, job_id=job_id):
            log.info("%s %s (%s) had no live process; queued it to resume", what, job_id, row["status"])
            queued += 1
    return queued
