"""The webhooks' use-cases: subscriptions, their deliveries, resend and test.

Nothing here waits on a receiver except `test_webhook`, whose point is to. A webhook is a
channel out of the building, so creating, changing and deleting one is audited, in the same
transaction. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import json
import logging

from databases import Database
from databases.interfaces import Record

from fulfil.access.audit import Actor, write_audit
from fulfil.db import fetch_model
from fulfil.errors import ApiError
from fulfil.resources import Resources
from fulfil.webhooks import delivery, queries, schemas
from fulfil.webhooks.outbox import event_payload
from fulfil.webhooks.relay import delivery_refs, queue_deliveries

log = logging.getLogger(__name__)


def not_found(webhook_id: int) -> ApiError:
    return ApiError(404, f"No webhook with id {webhook_id}")


async def get_webhook(db: Database, webhook_id: int) -> schemas.Webhook:
    webhook = await fetch_model(db, queries.SELECT_WEBHOOK, {"id": webhook_id}, schemas.Webhook)
    if webhook is None:
        raise not_found(webhook_id)
    return webhook


async def list_webhooks(db: Database, query: schemas.WebhookQuery) -> schemas.WebhookList:
    rows = await db.fetch_all(queries.LIST_WEBHOOKS, query.window())
    total = await db.fetch_val(queries.COUNT_WEBHOOKS)
    return schemas.WebhookList.of([schemas.Webhook.model_validate(dict(row._mapping)) for row in rows], query, total)


async def create_webhook(db: Database, body: schemas.WebhookCreate, actor: Actor) -> schemas.Webhook:
    async with db.transaction():
        webhook_id = await db.fetch_val(queries.INSERT_WEBHOOK, body.model_dump())
        await write_audit(db, actor, "webhook.created", f"webhook {webhook_id}", {"url": body.url})
    return await get_webhook(db, webhook_id)


async def update_webhook(db: Database, webhook_id: int, body: schemas.WebhookUpdate, actor: Actor) -> schemas.Webhook:
    """The fields sent are changed; the others, the secret included, stay as they are."""
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_WEBHOOK_FOR_UPDATE, {"id": webhook_id})
        if row is None:
            raise not_found(webhook_id)
        values = dict(row._mapping) | body.model_dump(exclude_unset=True)
        await db.execute(queries.UPDATE_WEBHOOK, values)
        fields = {"fields": sorted(body.model_fields_set)}
        await write_audit(db, actor, "webhook.changed", f"webhook {webhook_id}", fields)
    return await get_webhook(db, webhook_id)


async def delete_webhook(db: Database, webhook_id: int, actor: Actor) -> None:
    async with db.transaction():
        if await db.fetch_val(queries.DELETE_WEBHOOK, {"id": webhook_id}) is None:
            raise not_found(webhook_id)
        await write_audit(db, actor, "webhook.deleted", f"webhook {webhook_id}")


def delivery_model(row: Record) -> schemas.Delivery:
    data = dict(row._mapping)
    data["attempts"] = json.loads(data["attempts"])
    data["payload"] = json.loads(data.pop("body"))
    return schemas.Delivery.model_validate(data)


async def list_deliveries(db: Database, webhook_id: int, query: schemas.DeliveryQuery) -> schemas.DeliveryList:
    """A webhook's deliveries, newest first; a 404 when there is no such webhook."""
    await get_webhook(db, webhook_id)
    params = {"webhook_id": webhook_id, "status": query.status}
    rows = await db.fetch_all(queries.LIST_DELIVERIES, params | query.window())
    total = await db.fetch_val(queries.COUNT_DELIVERIES, params)
    return schemas.DeliveryList.of([delivery_model(row) for row in rows], query, total)


async def resend_delivery(resources: Resources, delivery_id: int) -> schemas.Delivery:
    """Start a new round of attempts for a finished delivery and queue it; the worker sends it."""
    db = resources.db
    gone = ApiError(404, f"No delivery with id {delivery_id}")
    current = await db.fetch_one(queries.SELECT_DELIVERY, {"id": delivery_id})
    if current is None:
        raise gone
    webhook = await get_webhook(db, current["webhook_id"])
    if not webhook.enabled:
        raise ApiError(409, f"Webhook {webhook.id} is disabled; enable it before resending delivery {delivery_id}")
    row = await db.fetch_one(queries.RESEND_DELIVERY, {"id": delivery_id})
    if row is None:
        raise ApiError(409, f"Delivery {delivery_id} is still pending; it will be attempted without a resend")
    try:
        await queue_deliveries(resources, delivery_refs([row]))
    except Exception as exc:  # the resend is saved; the sweep queues it once it is overdue
        log.warning("delivery %s resent but not queued yet (the sweep will): %r", delivery_id, exc)
    updated = await db.fetch_one(queries.SELECT_DELIVERY, {"id": delivery_id})
    if updated is None:  # its webhook was deleted meanwhile
        raise gone
    return delivery_model(updated)


async def test_webhook(resources: Resources, webhook_id: int) -> schemas.TestResult:
    """Send one `webhook.test` event now and report what the receiver answered."""
    row = await resources.db.fetch_one(queries.SELECT_TARGET, {"id": webhook_id})
    if row is None:
        raise not_found(webhook_id)
    target = delivery.Target(id=row["id"], url=row["url"], secret=row["secret"], timeout=row["timeout"])
    data = {"webhook_id": webhook_id, "message": "A test event from Fulfil-RK; no product changed."}
    body = json.dumps(event_payload(schemas.TEST_EVENT, data))
    delivery_id, outcome = await delivery.send_test(resources, target, body)
    return schemas.TestResult(
        ok=outcome.ok,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.response_excerpt,
        error=outcome.error,
        delivery_id=delivery_id,
    )
