"""The relay: outbox events become deliveries, queued as jobs in batches per webhook.

The nudge (`outbox.relay_soon`, job `outbox.RELAY_JOB`) runs it right after a change commits; the
sweep (`sweep_webhooks`, every few seconds) runs it again and re-queues due deliveries, so an
event written while Redis was down, or whose process died before queueing, is still delivered.
A job claims its deliveries in the database before sending, so a duplicate job (a sweep racing
a nudge) finds nothing to send.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypedDict

from fulfil.db import direct_transaction
from fulfil.queue import enqueue_many
from fulfil.resources import Resources
from fulfil.webhooks import queries
from fulfil.webhooks.delivery import DELIVER_JOB, delivery_job_id

log = logging.getLogger(__name__)

EVENT_BATCH = 2000
SWEEP_LIMIT = 1000
# Deliveries per job: one job claims and sends them concurrently, so the queue's per-job cost is shared.
BATCH = 100
# A delivery overdue by more than this lost its job; the sweep queues it again.
SWEEP_GRACE_SECONDS = 10


class DeliveryRef(TypedDict):
    """What queueing a delivery needs (the columns `queries` return for it)."""

    id: int
    webhook_id: int
    message_id: str
    attempt_count: int


class Row(Protocol):
    """A row by column name: `databases`' Record or asyncpg's."""

    def __getitem__(self, key: str) -> Any: ...


def delivery_refs(rows: Iterable[Row]) -> list[DeliveryRef]:
    return [
        DeliveryRef(
            id=row["id"], webhook_id=row["webhook_id"], message_id=row["message_id"], attempt_count=row["attempt_count"]
        )
        for row in rows
    ]


def batches(rows: Sequence[DeliveryRef]) -> list[tuple[str, tuple[list[int]]]]:
    """(job id, args) per batch of up to BATCH deliveries of one webhook, so a slow receiver holds up only its own."""
    by_webhook: dict[int, list[DeliveryRef]] = defaultdict(list)
    for row in rows:
        by_webhook[row["webhook_id"]].append(row)
    jobs = []
    for mine in by_webhook.values():
        for start in range(0, len(mine), BATCH):
            batch = mine[start : start + BATCH]
            first = batch[0]
            job_id = delivery_job_id(first["id"], first["message_id"], first["attempt_count"], len(batch))
            jobs.append((job_id, ([row["id"] for row in batch],)))
    return jobs


async def queue_deliveries(resources: Resources, rows: Sequence[DeliveryRef]) -> int:
    """Queue delivery jobs for these deliveries; returns how many were new."""
    jobs = batches(rows)
    return await enqueue_many(resources.queue, DELIVER_JOB, jobs) if jobs else 0


async def relay(resources: Resources) -> int:
    """Turn every unrelayed event into deliveries and queue them; returns the number of deliveries made.

    Batches until no event is left, so events committed while it runs are taken too.
    """
    made = 0
    while True:
        # Straight through asyncpg (it runs after every burst of writes): see fulfil.db.Direct.
        async with direct_transaction(resources.db) as conn:
            ids = [row["id"] for row in await conn.fetch_all(queries.CLAIM_EVENTS, {"limit": EVENT_BATCH})]
            if not ids:
                return made
            rows = delivery_refs(await conn.fetch_all(queries.INSERT_DELIVERIES, {"ids": ids}))
            await conn.execute(queries.FEED_LOCK)
            await conn.execute(queries.MARK_RELAYED, {"ids": ids})
        made += len(rows)
        try:
            await queue_deliveries(resources, rows)
        except Exception as exc:
            log.warning("could not queue %d deliveries (the sweep will): %r", len(rows), exc)


async def sweep(resources: Resources) -> tuple[int, int]:
    """Relay what the nudges missed and re-queue due deliveries; returns (deliveries made, jobs queued)."""
    made = await relay(resources)
    params = {"grace": SWEEP_GRACE_SECONDS, "limit": SWEEP_LIMIT}
    due = delivery_refs(await resources.db.fetch_all(queries.OVERDUE_DELIVERIES, params))
    return made, await queue_deliveries(resources, due)
