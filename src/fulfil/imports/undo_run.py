"""The undo job (`undo_import`): take back what one job did to the products, batch by batch.

It runs like an import (imports/jobs.py): on a connection of its own holding the job's lock, with
its progress in the job row and on the same channel, resumed by the same sweep. The products the
undone job touched are taken in id order, IMPORT_BATCH_ROWS at a time; each batch's writes, its
history entries, its conflicts and the checkpoint (the last product id done) commit together, so a
run cut off resumes after its last committed batch and nothing is done twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from fulfil.imports import queries, undo_queries
from fulfil.imports.jobs import JobRun, run_resuming
from fulfil.imports.loader import in_transaction
from fulfil.imports.schemas import FINAL_STATUSES
from fulfil.imports.undo_plan import BatchPlan, Touch, plan_batch, touch_of
from fulfil.products.fields import FIELDS
from fulfil.resources import Resources

WAIT_SECONDS = 0.2  # how often the undo looks whether the job it undoes has stopped


def _jsonb(value: Any) -> bytes:
    """jsonb's binary form (version 1, then the text), which COPY needs as much as queries do."""
    return b"\x01" + json.dumps(value).encode()


def _from_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows as the arrays of `unnest($1, ..., $5)`: id, then each field."""
    return [[row[name] for row in rows] for name in ("id", *FIELDS)]


def _touches(entries: Iterable[asyncpg.Record]) -> list[Touch]:
    grouped = itertools.groupby(entries, key=lambda row: row["product_id"])
    touches = []
    for product_id, group in grouped:
        rows = list(group)
        touches.append(touch_of(product_id, rows[-1]["sku"], ((r["action"], r["before"], r["after"]) for r in rows)))
    return touches


@dataclass
class _Pace:
    """The undo's rate and ETA: the products done, counted once their batch commits."""

    remaining: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    pending: int = 0

    def with_batch(self, count: int) -> tuple[float, float]:
        """The rate and ETA once a batch of `count` products commits (a retried batch counts once)."""
        self.pending = count
        rate = (self.done + count) / max(time.monotonic() - self.started, 1e-3)
        return round(rate, 1), round(max(self.remaining - self.done - count, 0) / rate, 1)

    def committed(self) -> None:
        self.done, self.pending = self.done + self.pending, 0


class UndoRun(JobRun):
    """A run of an undo: the products the undone job touched, batch by batch, from the checkpoint."""

    async def run(self) -> str:
        job = await self.claim("undo")
        if isinstance(job, str):
            return job
        await self.conn.set_type_codec(
            "jsonb", encoder=_jsonb, decoder=_from_jsonb, schema="pg_catalog", format="binary"
        )
        undo = await self.conn.fetchrow(undo_queries.GET_UNDO, self.job_id)
        if undo["undoes"] is None:
            return await self.finish("failed", "The job to undo is no longer kept.")
        await self.wait_stopped(undo["undoes"])
        total = await self.conn.fetchval(undo_queries.COUNT_TOUCHED, undo["undoes"])
        counted = await self.conn.fetchrow(undo_queries.SET_TOTAL, self.job_id, total)
        await self._publish_row(counted)
        return await self.undo(undo["undoes"], undo["force"], undo["checkpoint_line"], total - job["rows_done"])

    async def wait_stopped(self, target: UUID) -> None:
        """An import still running was asked to stop by the request; wait for it to end its batch."""
        if await self.conn.fetchval(undo_queries.TARGET_STATUS, target) in FINAL_STATUSES:
            return
        row = await self.db.fetch_one(queries.SET_PHASE, {"id": str(self.job_id), "phase": "waiting"})
        assert row is not None  # the claimed job row exists
        await self._publish_row(row._mapping)
        while await self.conn.fetchval(undo_queries.TARGET_STATUS, target) not in FINAL_STATUSES:  # noqa: ASYNC110
            await asyncio.sleep(WAIT_SECONDS)  # the job's end happens in another process: poll its row

    async def undo(self, target: UUID, force: bool, after: int, remaining: int) -> str:
        who = await self.conn.fetchrow(queries.WHO, self.job_id)
        actor = (who["actor_user_id"], who["actor_token_id"], who["actor"]) if who else (None, None, None)
        batch_rows = self.resources.settings.import_batch_rows
        pace = _Pace(remaining)
        while (end := await self.conn.fetchval(undo_queries.BATCH_END, target, after, batch_rows)) is not None:
            # Retried as a whole if it deadlocks with an import locking the same products the other way round.
            row = await in_transaction(self.conn, partial(self.batch, target, force, actor, after, end, pace))
            pace.committed()
            await self._publish_row(row)
            if row["cancel_requested"]:
                return await self.finish("cancelled")
            after = end
        final = await self.conn.fetchval(undo_queries.CONFLICTS_SO_FAR, self.job_id)
        return await self.finish("completed_with_errors" if final else "completed")

    async def batch(
        self, target: UUID, force: bool, actor: tuple[Any, Any, Any], after: int, end: int, pace: _Pace
    ) -> asyncpg.Record:
        """The products touched in (after, end]: undone, recorded and checkpointed; inside the batch's transaction."""
        touches = _touches(await self.conn.fetch(undo_queries.BATCH_ENTRIES, target, after, end))
        plan = await self.apply(touches, force)
        await self.record(plan, actor)
        rate, eta = pace.with_batch(len(touches))
        return await self.conn.fetchrow(
            undo_queries.CHECKPOINT,
            self.job_id,
            len(touches),
            plan.restored,
            len(plan.deletes),
            len(plan.conflicts),
            plan.unchanged,
            end,
            rate,
            eta,
        )

    async def apply(self, touches: list[Touch], force: bool) -> BatchPlan:
        """Lock the batch's products, decide, write; inside the batch's transaction."""
        rows = await self.conn.fetch(undo_queries.LOCK_CURRENT, [t.product_id for t in touches])
        current = {row["id"]: {name: row[name] for name in FIELDS} for row in rows}
        plan = plan_batch(touches, current, force=force)
        if plan.deletes:
            await self.conn.execute(undo_queries.DELETE_PRODUCTS, plan.deletes)
        if plan.updates:
            await self.conn.execute(undo_queries.UPDATE_PRODUCTS, *_columns(plan.updates))
        if plan.reinserts:
            inserted = await self.conn.fetch(undo_queries.REINSERT_PRODUCTS, *_columns(plan.reinserts))
            plan.not_reinserted({row["id"] for row in inserted})
        return plan

    async def record(self, plan: BatchPlan, actor: tuple[Any, Any, Any]) -> None:
        """The batch's history entries and conflicts, in the same transaction as its writes."""
        if plan.history:
            await self.conn.copy_records_to_table(
                undo_queries.HISTORY_TABLE,
                columns=undo_queries.HISTORY_COLUMNS,
                records=[
                    (pid, sku, action, "undo", before, after, self.job_id, *actor)
                    for pid, sku, action, before, after in plan.history
                ],
            )
        if plan.conflicts:
            await self.conn.copy_records_to_table(
                undo_queries.CONFLICT_TABLE,
                columns=undo_queries.CONFLICT_COLUMNS,
                records=[(self.job_id, *conflict) for conflict in plan.conflicts],
            )


async def undo_import(ctx: dict[str, Any], job_id: str) -> str:
    """The arq job: undo one job, or resume the undo after its last committed batch."""

    async def run(resources: Resources, conn: asyncpg.Connection, uid: UUID) -> str:
        return await UndoRun(resources, conn, uid).run()

    return await run_resuming(ctx["resources"], job_id, run)
