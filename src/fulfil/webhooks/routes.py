"""The webhooks API: subscriptions, their deliveries, resend and test.

Nothing here waits on a receiver except `POST /api/webhooks/{id}/test`, whose point is to.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fulfil.api import ApiRoute, app_resources, json_response, page_window, path_int, read_body, read_query
from fulfil.errors import ApiError
from fulfil.resources import Resources
from fulfil.webhooks import delivery, queries
from fulfil.webhooks.outbox import event_payload
from fulfil.webhooks.relay import queue_deliveries
from fulfil.webhooks.schemas import (
    TEST_EVENT,
    Delivery,
    DeliveryList,
    DeliveryQuery,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookQuery,
    WebhookUpdate,
)

log = logging.getLogger(__name__)

TAG = "Webhooks"


def not_found(webhook_id: int) -> ApiError:
    return ApiError(404, f"No webhook with id {webhook_id}")


async def load_webhook(resources: Resources, webhook_id: int) -> Webhook:
    row = await resources.db.fetch_one(queries.SELECT_WEBHOOK, {"id": webhook_id})
    if row is None:
        raise not_found(webhook_id)
    return Webhook.model_validate(dict(row._mapping))


async def list_webhooks(request: Request) -> JSONResponse:
    query = read_query(request, WebhookQuery)
    db = app_resources(request).db
    params = page_window(query.page, query.page_size)
    rows = await db.fetch_all(queries.LIST_WEBHOOKS, params)
    total = await db.fetch_val(queries.COUNT_WEBHOOKS)
    items = [Webhook.model_validate(dict(row._mapping)) for row in rows]
    return json_response(WebhookList(items=items, page=query.page, page_size=query.page_size, total=total))


async def get_webhook(request: Request) -> JSONResponse:
    return json_response(await load_webhook(app_resources(request), path_int(request)))


async def create_webhook(request: Request) -> JSONResponse:
    body = await read_body(request, WebhookCreate)
    resources = app_resources(request)
    webhook_id = await resources.db.fetch_val(queries.INSERT_WEBHOOK, body.model_dump())
    return json_response(await load_webhook(resources, webhook_id), status=201)


async def update_webhook(request: Request) -> JSONResponse:
    webhook_id = path_int(request)
    body = await read_body(request, WebhookUpdate)
    resources = app_resources(request)
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_WEBHOOK_FOR_UPDATE, {"id": webhook_id})
        if row is None:
            raise not_found(webhook_id)
        values = dict(row._mapping) | body.model_dump(exclude_unset=True)
        await db.execute(queries.UPDATE_WEBHOOK, values)
    return json_response(await load_webhook(resources, webhook_id))


async def delete_webhook(request: Request) -> Response:
    webhook_id = path_int(request)
    if await app_resources(request).db.fetch_val(queries.DELETE_WEBHOOK, {"id": webhook_id}) is None:
        raise not_found(webhook_id)
    return Response(status_code=204)


def delivery_model(row: Any) -> Delivery:
    data = dict(row._mapping)
    data["attempts"] = json.loads(data["attempts"])
    data["payload"] = json.loads(data.pop("body"))
    return Delivery.model_validate(data)


async def list_deliveries(request: Request) -> JSONResponse:
    webhook_id = path_int(request)
    query = read_query(request, DeliveryQuery)
    resources = app_resources(request)
    await load_webhook(resources, webhook_id)
    params: dict[str, Any] = {"webhook_id": webhook_id, "status": query.status}
    page = page_window(query.page, query.page_size)
    rows = await resources.db.fetch_all(queries.LIST_DELIVERIES, params | page)
    total = await resources.db.fetch_val(queries.COUNT_DELIVERIES, params)
    items = [delivery_model(row) for row in rows]
    return json_response(DeliveryList(items=items, page=query.page, page_size=query.page_size, total=total))


async def resend_delivery(request: Request) -> JSONResponse:
    """Start a new round of attempts for a finished delivery; the worker sends it (202)."""
    delivery_id = path_int(request)
    resources = app_resources(request)
    db = resources.db
    current = await db.fetch_one(queries.SELECT_DELIVERY, {"id": delivery_id})
    if current is None:
        raise ApiError(404, f"No delivery with id {delivery_id}")
    webhook = await load_webhook(resources, current["webhook_id"])
    if not webhook.enabled:
        raise ApiError(409, f"Webhook {webhook.id} is disabled; enable it before resending delivery {delivery_id}")
    row = await db.fetch_one(queries.RESEND_DELIVERY, {"id": delivery_id})
    if row is None:
        raise ApiError(409, f"Delivery {delivery_id} is still pending; it will be attempted without a resend")
    try:
        await queue_deliveries(resources, [row])
    except Exception as exc:  # the resend is saved; the sweep queues it once it is overdue
        log.warning("delivery %s resent but not queued yet (the sweep will): %r", delivery_id, exc)
    updated = await db.fetch_one(queries.SELECT_DELIVERY, {"id": delivery_id})
    return json_response(delivery_model(updated), status=202)


async def test_webhook(request: Request) -> JSONResponse:
    """Send one `webhook.test` event now and report what the receiver answered."""
    webhook_id = path_int(request)
    resources = app_resources(request)
    webhook = await resources.db.fetch_one(queries.SELECT_TARGET, {"id": webhook_id})
    if webhook is None:
        raise not_found(webhook_id)
    data = {"webhook_id": webhook_id, "message": "A test event from Fulfil-RK; no product changed."}
    body = json.dumps(event_payload(TEST_EVENT, data))
    delivery_id, outcome = await delivery.send_test(resources, dict(webhook._mapping), body)
    result = TestResult(
        ok=outcome.ok,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.response_excerpt,
        error=outcome.error,
        delivery_id=delivery_id,
    )
    return json_response(result)


routes: list[BaseRoute] = [
    ApiRoute(
        "/api/webhooks",
        list_webhooks,
        methods=["GET"],
        summary="List webhooks, each with its latest delivery's status",
        tag=TAG,
        query=WebhookQuery,
        response=WebhookList,
        errors=(422,),
    ),
    ApiRoute(
        "/api/webhooks",
        create_webhook,
        methods=["POST"],
        summary="Create a webhook (timeout 30 s and 3 retries unless given)",
        tag=TAG,
        body=WebhookCreate,
        response=Webhook,
        status=201,
        errors=(400, 422),
    ),
    ApiRoute(
        "/api/webhooks/deliveries/{id:id}/resend",
        resend_delivery,
        methods=["POST"],
        summary="Deliver a finished delivery again, with a new round of retries",
        tag=TAG,
        response=Delivery,
        status=202,
        errors=(404, 409),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}",
        get_webhook,
        methods=["GET"],
        summary="Read one webhook (the secret is never shown; `has_secret` says if one is set)",
        tag=TAG,
        response=Webhook,
        errors=(404,),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}",
        update_webhook,
        methods=["PUT"],
        summary="Change the fields sent; a secret left out is kept, null or blank removes it",
        tag=TAG,
        body=WebhookUpdate,
        response=Webhook,
        errors=(400, 404, 422),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}",
        delete_webhook,
        methods=["DELETE"],
        summary="Delete a webhook and its delivery log",
        tag=TAG,
        status=204,
        errors=(404,),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}/deliveries",
        list_deliveries,
        methods=["GET"],
        summary="A webhook's deliveries, newest first, each with its attempts",
        tag=TAG,
        query=DeliveryQuery,
        response=DeliveryList,
        errors=(404, 422),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}/test",
        test_webhook,
        methods=["POST"],
        summary="Send one webhook.test event now (no retries) and report the receiver's answer",
        tag=TAG,
        response=TestResult,
        errors=(404,),
    ),
]
