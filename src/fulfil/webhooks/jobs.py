"""The webhooks' background jobs, registered in `fulfil.worker`.

None keeps a result (see `fulfil.queue.transient`), so the relay's fixed job id can be queued
again the moment a run ends, and no nudge is refused for long.
"""

from __future__ import annotations

from typing import Any

from fulfil.resources import Resources
from fulfil.webhooks import delivery, queries, relay

SWEEP_EVERY_SECONDS = 2
# A batch job's limit: generous, as its requests may queue behind others to the same webhook; its
# claims are renewed while it runs (see delivery.LEASE_SECONDS), so this only stops a stuck job.
DELIVERY_JOB_TIMEOUT = 1800


async def relay_events(ctx: dict[str, Any]) -> int:
    """The after-commit nudge: new events become deliveries, queued as `delivery.DELIVER_JOB` jobs."""
    return await relay.relay(ctx["resources"])


async def deliver_webhooks(ctx: dict[str, Any], delivery_ids: list[int]) -> str:
    """One attempt of each due delivery among `delivery_ids` (job id: `delivery.delivery_job_id`)."""
    return await delivery.deliver_batch(ctx["resources"], delivery_ids)


async def sweep_webhooks(ctx: dict[str, Any]) -> str:
    """Periodic safety net: relay missed events and re-queue due deliveries."""
    made, queued = await relay.sweep(ctx["resources"])
    return f"{made} deliveries made, {queued} jobs queued"


async def prune_webhook_history(ctx: dict[str, Any]) -> str:
    """Hourly: forget finished deliveries (and their events) older than HISTORY_RETENTION_DAYS."""
    resources: Resources = ctx["resources"]
    days = resources.settings.history_retention_days
    if not days:
        return "kept: HISTORY_RETENTION_DAYS=0"
    async with resources.db.transaction():
        deliveries = await resources.db.fetch_val(queries.PRUNE_DELIVERIES, {"days": days})
        events = await resources.db.fetch_val(queries.PRUNE_EVENTS, {"days": days})
    return f"{deliveries} deliveries and {events} events older than {days} days removed"
