"""The relay: outbox events become deliveries, and each delivery becomes a queued job.

The nudge (`outbox.relay_soon`, job `relay_events`) runs it right after a change commits; the
sweep (`sweep_webhooks`, every few seconds) runs it again and re-queues due deliveries, so an
event written while Redis was down, or whose process died before queueing, is still delivered.
Queueing is idempotent: each attempt has its own job id, and an id already queued is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fulfil.queue import enqueue_many
from fulfil.resources import Resources
from fulfil.webhooks import queries
from fulfil.webhooks.delivery import DELIVER_JOB, delivery_job_id

log = logging.getLogger(__name__)

EVENT_BATCH = 500
SWEEP_LIMIT = 1000


async def queue_deliveries(resources: Resources, rows: Sequence[Any]) -> int:
    """Queue the next attempt of each delivery row (id, message_id, attempt_count); returns how many were new."""
    jobs = [
        (delivery_job_id(r["id"], r["message_id"], r["attempt_count"]), (r["id"], r["attempt_count"])) for r in rows
    ]
    return await enqueue_many(resources.queue, DELIVER_JOB, jobs) if jobs else 0


async def relay(resources: Resources) -> int:
    """Turn every unrelayed event into deliveries and queue them; returns the number of deliveries made.

    Batches until no event is left, so events committed while it runs are taken too.
    """
    db = resources.db
    made = 0
    while True:
        async with db.transaction():
            ids = [row["id"] for row in await db.fetch_all(queries.CLAIM_EVENTS, {"limit": EVENT_BATCH})]
            if not ids:
                return made
            rows = await db.fetch_all(queries.INSERT_DELIVERIES, {"ids": ids})
            await db.execute(queries.MARK_RELAYED, {"ids": ids})
        made += len(rows)
        try:
            await queue_deliveries(resources, rows)
        except Exception as exc:
            log.warning("could not queue %d deliveries (the sweep will): %r", len(rows), exc)


async def sweep(resources: Resources) -> tuple[int, int]:
    """Relay what the nudges missed and re-queue due deliveries; returns (deliveries made, jobs queued)."""
    made = await relay(resources)
    due = await resources.db.fetch_all(queries.DUE_DELIVERIES, {"limit": SWEEP_LIMIT})
    return made, await queue_deliveries(resources, due)
