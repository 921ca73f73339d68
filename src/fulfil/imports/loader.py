"""Writing batches: COPY into the job's staging table, one upsert, the checkpoint, one commit.

The job keeps one connection (and one temp staging table that empties itself at each commit) for
its whole run. A batch's rows, its counts and the job's checkpoint commit together, so after a
crash the job resumes exactly after the last batch that made it in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from fulfil.imports import queries
from fulfil.imports.reader import Batch

# Two imports touching the same SKUs lock rows in the same (sorted) order, so they wait rather than
# deadlock; should PostgreSQL still pick one as a deadlock victim, its batch is simply run again.
RETRIES = 3
RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


@dataclass(frozen=True)
class Progress:
    """What the job knows beyond the batch itself, for the snapshot's rate and ETA."""

    rows_per_second: float | None
    eta_seconds: float | None


async def open_stage(conn: asyncpg.Connection) -> None:
    await conn.execute(queries.CREATE_STAGE)


async def drop_stage(conn: asyncpg.Connection) -> None:
    await conn.execute(queries.DROP_STAGE)


async def commit_batch(
    conn: asyncpg.Connection, job_id: UUID, batch: Batch, *, keep_active: bool, progress: Progress
) -> asyncpg.Record:
    """Upsert the batch's rows and move the job's checkpoint past it, in one transaction.

    Returns the job row after the update (snapshot columns and `cancel_requested`).
    """
    upsert = queries.UPSERT_KEEP_ACTIVE if keep_active else queries.UPSERT_WITH_ACTIVE
    for attempt in range(RETRIES):
        try:
            async with conn.transaction():
                created = updated = 0
                if batch.records:
                    await conn.copy_records_to_table(
                        queries.STAGE_TABLE, records=batch.records, columns=queries.STAGE_COLUMNS
                    )
                    created, updated = await conn.fetchrow(upsert, job_id)
                return await conn.fetchrow(
                    queries.CHECKPOINT,
                    job_id,
                    batch.rows,
                    created,
                    updated,
                    len(batch.records) - created - updated,
                    len(batch.rejects),
                    batch.end_line,
                    batch.end_byte,
                    batch.last,
                    progress.rows_per_second,
                    progress.eta_seconds,
                )
        except RETRYABLE:
            if attempt == RETRIES - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")
