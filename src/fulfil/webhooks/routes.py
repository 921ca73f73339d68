"""The webhooks API: subscriptions, their deliveries, resend, test, rotation, recover, stats, the event feed.

Each route reads its input, calls the use-case in `service.py` and answers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fulfil.access.audit import actor_of
from fulfil.api import ApiRoute, app_resources, json_response, path_int, read_body, read_query
from fulfil.webhooks import service
from fulfil.webhooks.schemas import (
    Delivery,
    DeliveryList,
    DeliveryQuery,
    Feed,
    FeedQuery,
    Recover,
    Recovered,
    RotatedSecret,
    RotateSecret,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookQuery,
    WebhookStats,
    WebhookUpdate,
)

TAG = "Webhooks"


async def list_webhooks(request: Request) -> JSONResponse:
    query = read_query(request, WebhookQuery)
    return json_response(await service.list_webhooks(app_resources(request).db, query))


async def get_webhook(request: Request) -> JSONResponse:
    return json_response(await service.get_webhook(app_resources(request).db, path_int(request)))


async def create_webhook(request: Request) -> JSONResponse:
    body = await read_body(request, WebhookCreate)
    resources = app_resources(request)
    created = await service.create_webhook(resources.db, resources.settings, body, actor_of(request))
    return json_response(created, status=201)


async def update_webhook(request: Request) -> JSONResponse:
    webhook_id = path_int(request)
    body = await read_body(request, WebhookUpdate)
    resources = app_resources(request)
    return json_response(
        await service.update_webhook(resources.db, resources.settings, webhook_id, body, actor_of(request))
    )


async def delete_webhook(request: Request) -> Response:
    await service.delete_webhook(app_resources(request).db, path_int(request), actor_of(request))
    return Response(status_code=204)


async def list_deliveries(request: Request) -> JSONResponse:
    webhook_id = path_int(request)
    query = read_query(request, DeliveryQuery)
    return json_response(await service.list_deliveries(app_resources(request).db, webhook_id, query))


async def resend_delivery(request: Request) -> JSONResponse:
    """Start a new round of attempts for a finished delivery; the worker sends it (202)."""
    return json_response(await service.resend_delivery(app_resources(request), path_int(request)), status=202)


async def test_webhook(request: Request) -> JSONResponse:
    """Send one `webhook.test` event now and report what the receiver answered."""
    return json_response(await service.test_webhook(app_resources(request), path_int(request)))


async def rotate_secret(request: Request) -> JSONResponse:
    """A new secret (shown this once); the old one signs beside it through the grace."""
    webhook_id = path_int(request)
    body = await read_body(request, RotateSecret)
    return json_response(await service.rotate_secret(app_resources(request), webhook_id, body, actor_of(request)))


async def recover(request: Request) -> JSONResponse:
    """A new round for every delivery that ended failed in the window; queued by the worker (202)."""
    webhook_id = path_int(request)
    body = await read_body(request, Recover)
    result = await service.recover(app_resources(request), webhook_id, body, actor_of(request))
    return json_response(result, status=200 if body.dry_run else 202)


async def webhook_stats(request: Request) -> JSONResponse:
    return json_response(await service.webhook_stats(app_resources(request).db, path_int(request)))


async def event_feed(request: Request) -> JSONResponse:
    query = read_query(request, FeedQuery)
    return json_response(await service.event_feed(app_resources(request).db, query))


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
    ApiRoute(
        "/api/webhooks/{id:id}/rotate-secret",
        rotate_secret,
        methods=["POST"],
        summary="Replace the secret (generated unless given, shown once); the old one signs beside it for the grace",
        tag=TAG,
        body=RotateSecret,
        response=RotatedSecret,
        errors=(400, 404, 422),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}/recover",
        recover,
        methods=["POST"],
        summary="Deliver again every delivery that ended failed in [since, until), oldest first (dry_run: count)",
        tag=TAG,
        body=Recover,
        response=Recovered,
        status=202,
        errors=(400, 404, 409, 422),
    ),
    ApiRoute(
        "/api/webhooks/{id:id}/stats",
        webhook_stats,
        methods=["GET"],
        summary="The last 24 hours: deliveries delivered and failed, success rate, p50/p95 response time",
        tag=TAG,
        response=WebhookStats,
        errors=(404,),
    ),
    ApiRoute(
        "/api/events",
        event_feed,
        methods=["GET"],
        summary="The events sent to webhooks, in order, after a cursor (kept as long as deliveries)",
        tag=TAG,
        query=FeedQuery,
        response=Feed,
        errors=(422,),
    ),
]
