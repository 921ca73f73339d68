"""The webhooks API: subscriptions, their deliveries, resend and test.

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
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookQuery,
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
    return json_response(await service.create_webhook(app_resources(request).db, body, actor_of(request)), status=201)


async def update_webhook(request: Request) -> JSONResponse:
    webhook_id = path_int(request)
    body = await read_body(request, WebhookUpdate)
    return json_response(await service.update_webhook(app_resources(request).db, webhook_id, body, actor_of(request)))


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
