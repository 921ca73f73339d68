"""The webhooks' use-cases: subscriptions, their deliveries, resend, test, secret rotation, recover,
stats and the event feed.

Nothing here waits on a receiver except `test_webhook`, whose point is to. A webhook is a
channel out of the building, so creating, changing and deleting one is audited, in the same
transaction. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from databases import Database
from databases.interfaces import Record

from fulfil.access.audit import Actor, write_audit
from fulfil.db import fetch_model
from fulfil.errors import ApiError
from fulfil.resources import Resources
from fulfil.settings import Settings
from fulfil.webhooks import delivery, outbound, queries, schemas, secrets
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


def sealed(settings: Settings, secret: str | None) -> str | None:
    """`secret` sealed under the current key (None: no secret)."""
    return None if secret is None else secrets.seal(settings, secret)


def sealed_headers(settings: Settings, headers: dict[str, str]) -> dict[str, Any]:
    """The header columns: the JSON sealed (it may hold credentials), and the names shown."""
    return {"headers_sealed": sealed(settings, json.dumps(headers)) if headers else None, "header_names": list(headers)}


async def create_webhook(
    db: Database, settings: Settings, body: schemas.WebhookCreate, actor: Actor
) -> schemas.Webhook:
    values = body.model_dump(exclude={"secret", "headers"}) | sealed_headers(settings, body.headers)
    values |= {"secret_sealed": sealed(settings, body.secret), "secret_key_id": secrets.key_id(settings)}
    async with db.transaction():
        webhook_id = await db.fetch_val(queries.INSERT_WEBHOOK, values)
        await write_audit(db, actor, "webhook.created", f"webhook {webhook_id}", {"url": body.url})
    return await get_webhook(db, webhook_id)


async def update_webhook(
    db: Database, settings: Settings, webhook_id: int, body: schemas.WebhookUpdate, actor: Actor
) -> schemas.Webhook:
    """The fields sent are changed; the others, the secret included, stay as they are."""
    sent = body.model_dump(exclude_unset=True)
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_WEBHOOK_FOR_UPDATE, {"id": webhook_id})
        if row is None:
            raise not_found(webhook_id)
        values: dict[str, Any] = dict(row._mapping) | {k: v for k, v in sent.items() if k not in ("secret", "headers")}
        if "headers" in sent:
            values |= sealed_headers(settings, sent["headers"])
        values |= {"set_secret": "secret" in sent, "set_headers": "headers" in sent}
        values["secret_sealed"] = sealed(settings, sent.get("secret"))
        del values["secret"]
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


HIDDEN_EXCERPT = "(not shown: in production the reply of a receiver that is not on a public address stays private)"


def shown_excerpt(settings: Settings, outcome: delivery.Outcome) -> str:
    """The reply's excerpt, except in production from a receiver not on a public address (one
    WEBHOOK_ALLOWED_NETWORKS lets through): the test must not read internal services for its caller."""
    if not settings.production or not outcome.response_excerpt:
        return outcome.response_excerpt
    try:
        public = outcome.peer is not None and outbound.blocked_reason(ipaddress.ip_address(outcome.peer), []) is None
    except ValueError:
        public = False
    return outcome.response_excerpt if public else HIDDEN_EXCERPT


async def test_webhook(resources: Resources, webhook_id: int) -> schemas.TestResult:
    """Send one `webhook.test` event now and report what the receiver answered."""
    row = await resources.db.fetch_one(queries.SELECT_TARGET, {"id": webhook_id})
    if row is None:
        raise not_found(webhook_id)
    target = delivery.Target(
        id=row["id"],
        url=row["url"],
        secret=row["secret"],
        secret_sealed=row["secret_sealed"],
        previous_secret_sealed=row["previous_secret_sealed"],
        timeout=row["timeout"],
        headers_sealed=row["headers_sealed"],
        max_per_second=row["max_per_second"],
    )
    data = {"webhook_id": webhook_id, "message": "A test event from Fulfil-RK; no product changed."}
    body = json.dumps(event_payload(schemas.TEST_EVENT, data))
    delivery_id, outcome = await delivery.send_test(resources, target, body)
    return schemas.TestResult(
        ok=outcome.ok,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=shown_excerpt(resources.settings, outcome),
        error=outcome.error,
        delivery_id=delivery_id,
    )


async def rotate_secret(
    resources: Resources, webhook_id: int, body: schemas.RotateSecret, actor: Actor
) -> schemas.RotatedSecret:
    """A new secret signs from now on; the current one keeps signing beside it for `grace_seconds`.

    A rotation during another's grace drops the oldest secret: two sign at most.
    """
    db, settings = resources.db, resources.settings
    new = body.secret or secrets.generate()
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_WEBHOOK_FOR_UPDATE, {"id": webhook_id})
        if row is None:
            raise not_found(webhook_id)
        current = row["secret_sealed"] if row["secret"] is None else secrets.seal(settings, row["secret"])
        keep = current is not None and body.grace_seconds > 0
        expires = datetime.now(UTC) + timedelta(seconds=body.grace_seconds) if keep else None
        values = {
            "id": webhook_id,
            "secret_sealed": sealed(settings, new),
            "previous_sealed": current if keep else None,
            "previous_expires_at": expires,
        }
        await db.execute(queries.ROTATE_SECRET, values)
        details = {"grace_seconds": body.grace_seconds, "generated": body.secret is None}
        await write_audit(db, actor, "webhook.secret_rotated", f"webhook {webhook_id}", details)
    webhook = await get_webhook(db, webhook_id)
    return schemas.RotatedSecret(
        secret=new, previous_secret_expires_at=webhook.previous_secret_expires_at, webhook=webhook
    )


async def recover(resources: Resources, webhook_id: int, body: schemas.Recover, actor: Actor) -> schemas.Recovered:
    """A new round for each delivery of the webhook that ended failed in the window, oldest first.

    Each keeps its `webhook-id`, so a receiver that did get one after all can tell. Refused while
    the webhook is disabled (a dry run still counts): enable it first, as "Recover and enable" does.
    """
    db = resources.db
    params = {"webhook_id": webhook_id, "since": body.since, "until": body.until}
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_WEBHOOK_FOR_UPDATE, {"id": webhook_id})
        if row is None:
            raise not_found(webhook_id)
        if body.dry_run:  # counting is allowed while disabled: "Recover and enable" counts first
            matching = int(await db.fetch_val(queries.COUNT_RECOVERABLE, params))
            return schemas.Recovered(queued=0, matching=matching)
        if not row["enabled"]:
            raise ApiError(409, f"Webhook {webhook_id} is disabled; enable it before recovering its deliveries")
        rows = sorted(await db.fetch_all(queries.RECOVER_DELIVERIES, params), key=lambda r: int(r["id"]))
        details = {"since": body.since.isoformat(), "until": body.until and body.until.isoformat(), "queued": len(rows)}
        await write_audit(db, actor, "webhook.recovered", f"webhook {webhook_id}", details)
    try:
        await queue_deliveries(resources, delivery_refs(rows))
    except Exception as exc:  # the rounds are saved; the sweep queues them once they are overdue
        log.warning(
            "%d deliveries of webhook %s recovered but not queued yet (the sweep will): %r", len(rows), webhook_id, exc
        )
    return schemas.Recovered(queued=len(rows), matching=len(rows))


async def webhook_stats(db: Database, webhook_id: int) -> schemas.WebhookStats:
    await get_webhook(db, webhook_id)
    row = await db.fetch_one(queries.WEBHOOK_STATS, {"id": webhook_id})
    assert row is not None  # an aggregate always has its row
    delivered, failed = int(row["delivered"]), int(row["failed"])
    ended = delivered + failed
    return schemas.WebhookStats(
        delivered=delivered,
        failed=failed,
        success_rate=round(delivered / ended, 4) if ended else None,
        p50_ms=None if row["p50"] is None else round(row["p50"], 1),
        p95_ms=None if row["p95"] is None else round(row["p95"], 1),
    )


async def event_feed(db: Database, query: schemas.FeedQuery) -> schemas.Feed:
    """Relayed events after the cursor, in the order they were relayed (kept as long as deliveries)."""
    rows = await db.fetch_all(queries.LIST_FEED, {"after": query.after, "type": query.type, "limit": query.limit})
    items = [
        schemas.FeedEvent(
            id=row["id"], type=row["event_type"], created_at=row["created_at"], payload=json.loads(row["payload"])
        )
        for row in rows
    ]
    return schemas.Feed(items=items, next_cursor=rows[-1]["feed_position"] if rows else query.after)
