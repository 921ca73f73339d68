"""Writing batches: COPY into the job's staging table, one upsert, the checkpoint, one commit.

The job keeps one connection (and one temp staging table that empties itself at each commit) for
its whole run. A batch's rows, its counts and the job's checkpoint commit together, so after a
crash the job resumes exactly after the last batch that made it in. A preview runs the same batches
through a statement that compares them with the catalogue and writes no product.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import asyncpg

from fulfil.imports import queries
from fulfil.imports.reader import Batch

# Two imports touching the same SKUs lock rows in the same (sorted) order, so they wait rather than
# deadlock; should PostgreSQL still pick one as a deadlock victim, its batch is simply run again.
RETRIES = 3
RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
T = TypeVar("T")


SKIP_REASONS = {
    "create_only": "the SKU is already stored (mode create_only)",
    "update_only": "the SKU is not stored (mode update_only)",
}
CHANGES_SAMPLE = 100  # the changes a preview keeps to show


@dataclass(frozen=True)
class Progress:
    """What the job knows beyond the batch itself, for the snapshot's rate and ETA."""

    rows_per_second: float | None
    eta_seconds: float | None


@dataclass(frozen=True)
class Plan:
    """How a job writes its batches: the mode, whether `active` comes from the file, whether it is a preview."""

    mode: str
    keep_active: bool
    dry_run: bool


async def in_transaction(conn: asyncpg.Connection, work: Callable[[], Awaitable[T]]) -> T:
    """`work` in one transaction on `conn`; run again (RETRIES times at most) when PostgreSQL picks it
    as a deadlock victim. Every batch of an import or an undo commits through here."""
    for attempt in range(RETRIES):
        try:
            async with conn.transaction():
                return await work()
        except RETRYABLE:
            if attempt == RETRIES - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


async def open_stage(conn: asyncpg.Connection, job_id: UUID, *, resumed: bool) -> None:
    """The staging table and the SKUs met so far (those a resumed import wrote, from its history)."""
    await conn.execute(queries.CREATE_STAGE)
    await conn.execute(queries.CREATE_SEEN)
    if resumed:
        await conn.execute(queries.REFILL_SEEN, job_id)


async def drop_stage(conn: asyncpg.Connection) -> None:
    await conn.execute(queries.DROP_STAGE)
    await conn.execute(queries.DROP_SEEN)


async def _write(
    conn: asyncpg.Connection, job_id: UUID, plan: Plan, sample_left: int
) -> tuple[int, int, int, int, int]:
    """The batch's statement: how many SKUs were new to the job, created, updated, skipped, sampled changes."""
    if plan.dry_run:
        row = await conn.fetchrow(queries.PREVIEWS[plan.keep_active], job_id, plan.mode, sample_left)
        return row["fresh"], row["created"], row["updated"], row["skipped"], row["sampled"]
    row = await conn.fetchrow(queries.UPSERTS[plan.mode, plan.keep_active], job_id)
    return row["fresh"], row["created"], row["updated"], row["skipped"], 0


async def commit_batch(
    conn: asyncpg.Connection, job_id: UUID, batch: Batch, *, plan: Plan, progress: Progress, sampled: int
) -> asyncpg.Record:
    """Upsert (or, for a preview, compare) the batch's rows and move the job's checkpoint past it, in one transaction.

    `sampled`: the changes the preview has kept so far. Returns the job row after the update
    (snapshot columns, `cancel_requested` and `changes_sampled`).
    """

    async def work() -> asyncpg.Record:
        fresh = created = updated = skipped = kept = 0
        if batch.records:
            await conn.copy_records_to_table(queries.STAGE_TABLE, records=batch.records, columns=queries.STAGE_COLUMNS)
            fresh, created, updated, skipped, kept = await _write(conn, job_id, plan, max(CHANGES_SAMPLE - sampled, 0))
        reasons = batch.skip_reasons()
        if skipped:
            reasons[SKIP_REASONS[plan.mode]] = skipped
        return await conn.fetchrow(
            queries.CHECKPOINT,
            job_id,
            batch.rows,
            created,
            updated,
            fresh - created - updated - skipped,
            len(batch.rejects),
            batch.end_line,
            batch.end_byte,
            batch.last,
            progress.rows_per_second,
            progress.eta_seconds,
            skipped + len(batch.skips),
            len(batch.records) - fresh,
            json.dumps(reasons),
            kept,
        )

    return await in_transaction(conn, work)
