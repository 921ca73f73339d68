"""The webhooks' background jobs, registered in `fulfil.worker`.

None keeps a result (see `fulfil.queue.transient`), so the relay's fixed job id can be queued
again the moment a run ends, and no nudge is refused for long.
"""

from __future__ import annotations

import logging
from typing import Any

from fulfil.resources import Resources
from fulfil.webhooks import delivery, queries, relay, secrets

log = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 2
SEAL_BATCH = 100
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
    """Periodic safety net: relay missed events and re-queue due deliveries; and the secrets' upkeep."""
    resources: Resources = ctx["resources"]
    made, queued = await relay.sweep(resources)
    erased = await resources.db.fetch_val(queries.ERASE_EXPIRED_SECRETS)
    sealed = await seal_secrets(resources)
    return f"{made} deliveries made, {queued} jobs queued, {erased} expired secrets erased, {sealed} secrets sealed"


async def seal_secrets(resources: Resources) -> int:
    """Seal plaintext secrets, and the secrets and headers an old SECRET_KEY sealed (or that a
    change left under mixed keys), under the current key.

    Safe with several processes and with older versions still running: each row is written only
    if it has not changed since it was read, and readers take either form meanwhile. A secret no
    key opens is left as it is (and logged): deliveries to it fail until OLD_SECRET_KEYS lists its key.
    """
    settings = resources.settings
    key_id = secrets.key_id(settings)
    rows = await resources.db.fetch_all(queries.SECRETS_TO_SEAL, {"key_id": key_id, "limit": SEAL_BATCH})
    done = 0
    for row in rows:
        try:
            current = row["secret_sealed"] and secrets.reseal(settings, row["secret_sealed"])
            previous = row["previous_secret_sealed"] and secrets.reseal(settings, row["previous_secret_sealed"])
            headers = row["headers_sealed"] and secrets.reseal(settings, row["headers_sealed"])
        except secrets.SecretUnreadable as exc:
            log.error("webhook %s: %s", row["id"], exc)
            continue
        if row["secret"] is not None:
            current = secrets.seal(settings, row["secret"])
        values = {
            "id": row["id"],
            "secret_sealed": current,
            "previous_sealed": previous,
            "headers_sealed": headers,
            "key_id": key_id,
            "old_secret": row["secret"],
            "old_sealed": row["secret_sealed"],
            "old_previous": row["previous_secret_sealed"],
            "old_headers": row["headers_sealed"],
        }
        await resources.db.execute(queries.SEAL_SECRETS, values)
        done += 1
    return done


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
