"""Deliveries to a real receiver: headers, both signatures, filtering, retries, resend, 410, test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime

import asyncpg
import httpx
import standardwebhooks

from tests.support.ports import bound_socket
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook, deliveries

SECRET = "päss-wörd with spaces"  # non-ASCII on purpose: the key is the secret's UTF-8 bytes


async def create_product(client: httpx.AsyncClient, sku: str = "SKU-001") -> dict:
    response = await client.post("/api/products", json={"sku": sku, "name": "Product A", "description": "Desc"})
    assert response.status_code == 201, response.text
    return response.json()


async def finished(client: httpx.AsyncClient, webhook_id: int, count: int = 1) -> list[dict]:
    """The webhook's deliveries once `count` of them have ended (delivered or failed)."""

    async def check() -> list[dict] | None:
        items = await deliveries(client, webhook_id)
        done = [d for d in items if d["status"] != "pending"]
        return items if len(done) >= count else None

    return await eventually(check)


async def test_a_change_is_delivered_with_every_header_and_both_signatures(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await create_webhook(client, receiver.url, secret=SECRET)
    product = await create_product(client)
    (request,) = await receiver.wait_for(1)

    assert request.json["event"] == "product.created"
    assert request.json["data"] == product
    assert abs(request.json["timestamp"] - time.time()) < 30
    assert list(request.json) == ["event", "timestamp", "data"]  # the seed's order, bytes kept as written
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Webhook-Event"] == "product.created"
    assert headers["X-Webhook-ID"] == str(hook["id"])
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    assert headers["webhook-signature"].startswith("v1,")
    verifier = standardwebhooks.Webhook("whsec_" + base64.b64encode(SECRET.encode()).decode())
    assert verifier.verify(request.body, headers) == request.json
    tampered = request.body.replace(b"Product A", b"Product B")
    try:
        verifier.verify(tampered, headers)
    except standardwebhooks.WebhookVerificationError:
        pass
    else:
        raise AssertionError("a changed body passed verification")

    (delivery,) = await finished(client, hook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["message_id"] == headers["webhook-id"]
    assert delivery["payload"] == request.json
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    assert attempt["error"] is None
    assert attempt["duration_ms"] > 0
    listed = (await client.get(f"/api/webhooks/{hook['id']}")).json()
    assert listed["last_delivery_status"] == "delivered"


async def test_without_a_secret_there_are_no_signature_headers(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await create_webhook(client, receiver.url)
    await create_product(client)
    (request,) = await receiver.wait_for(1)
    lowered = {name.lower() for name in request.headers}
    assert "x-webhook-signature" not in lowered
    assert "webhook-signature" not in lowered
    assert request.headers["X-Webhook-Event"] == "product.created"


async def test_each_webhook_gets_only_its_event_types_and_disabled_ones_get_nothing(
    client: httpx.AsyncClient, receiver: Receiver, db: asyncpg.Connection
) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    await create_webhook(client, f"{base}/created", event_types=["product.created"])
    await create_webhook(client, f"{base}/changes", event_types=["product.updated", "product.deleted"])
    off = await create_webhook(client, f"{base}/off", enabled=False)
    product = await create_product(client)
    assert (await client.put(f"/api/products/{product['id']}", json={"name": "Renamed"})).status_code == 200
    assert (await client.delete(f"/api/products/{product['id']}")).status_code == 204

    await receiver.wait_for(3)
    await eventually(lambda: db.fetchval("SELECT count(*) = 3 FROM webhook_event WHERE relayed_at IS NOT NULL"))
    seen = sorted((r.path, r.headers["X-Webhook-Event"]) for r in receiver.received)
    assert seen == [("/changes", "product.deleted"), ("/changes", "product.updated"), ("/created", "product.created")]
    deleted = next(r for r in receiver.received if r.headers["X-Webhook-Event"] == "product.deleted")
    assert deleted.json["data"]["name"] == "Renamed"  # a delete carries the product as it was
    assert await deliveries(client, off["id"]) == []
    assert await db.fetchval("SELECT count(*) FROM webhook_delivery") == 3


async def test_failures_are_retried_with_growing_backoff_and_every_attempt_logged(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.replies = [(500, "boom", {}), (503, "busy", {}), (502, "bad gateway", {})]
    hook = await create_webhook(client, receiver.url, retry_count=3)
    await create_product(client)
    received = await receiver.wait_for(4)

    (delivery,) = await finished(client, hook["id"])
    assert delivery["status"] == "delivered"
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 503, 502, 200]
    assert attempts[0]["response_excerpt"] == "boom"
    assert "500" in attempts[0]["error"]
    assert attempts[-1]["error"] is None
    delays = [a["retry_in_seconds"] for a in attempts]
    assert delays[-1] is None
    # base 0.2 s doubling with ±20% jitter: 0.16-0.24, 0.32-0.48, 0.64-0.96
    assert 0.16 <= delays[0] <= 0.24 and 0.32 <= delays[1] <= 0.48 and 0.64 <= delays[2] <= 0.96
    assert delays[0] < delays[1] < delays[2]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(received)]
    assert all(gap >= delay * 0.9 for gap, delay in zip(gaps, delays, strict=False))
    assert len({r.headers["webhook-id"] for r in received}) == 1  # stable across retries
    times = [datetime.fromisoformat(a["at"]) for a in attempts]
    assert times == sorted(times)


async def test_retry_after_is_honoured_within_bounds(client: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.replies = [(429, "slow down", {"Retry-After": "1"}), (503, "later", {"Retry-After": "3600"})]
    hook = await create_webhook(client, receiver.url)
    await create_product(client)
    received = await receiver.wait_for(3)
    (delivery,) = await finished(client, hook["id"])
    assert [a["retry_in_seconds"] for a in delivery["attempts"]] == [1.0, 2.0, None]  # 3600 capped at the max (2 s)
    assert received[1].at - received[0].at >= 0.95


async def test_exhausted_retries_fail_and_a_resend_delivers(client: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.default = (500, "down", {})
    hook = await create_webhook(client, receiver.url, retry_count=1)
    await create_product(client)
    (delivery,) = await finished(client, hook["id"])
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500]
    assert delivery["last_status_code"] == 500
    assert delivery["finished_at"] is not None
    assert (await client.get(f"/api/webhooks/{hook['id']}")).json()["last_delivery_status"] == "failed"

    receiver.default = (200, "back", {})
    response = await client.post(f"/api/webhooks/deliveries/{delivery['id']}/resend")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    # A second resend is refused while the first round is pending; once that round has delivered,
    # it is a round of its own.
    again = await client.post(f"/api/webhooks/deliveries/{delivery['id']}/resend")
    assert again.status_code in (202, 409)
    rounds = [200] if again.status_code == 409 else [200, 200]

    async def delivered() -> dict | None:
        (item,) = await deliveries(client, hook["id"])
        return item if item["status"] == "delivered" else None

    item = await eventually(delivered)
    assert [a["status_code"] for a in item["attempts"]] == [500, 500, *rounds]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert (await client.post(f"/api/webhooks/deliveries/{delivery['id']}/resend")).status_code == 202


async def test_a_410_disables_the_webhook_with_a_reason(client: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.default = (410, "gone", {})
    hook = await create_webhook(client, receiver.url, retry_count=5)
    await create_product(client, "SKU-1")
    (delivery,) = await finished(client, hook["id"])
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 1
    after = (await client.get(f"/api/webhooks/{hook['id']}")).json()
    assert after["enabled"] is False
    assert "410" in after["disabled_reason"]

    await create_product(client, "SKU-2")
    assert len(await deliveries(client, hook["id"])) == 1
    resend = await client.post(f"/api/webhooks/deliveries/{delivery['id']}/resend")
    assert resend.status_code == 409
    enabled = (await client.put(f"/api/webhooks/{hook['id']}", json={"enabled": True})).json()
    assert enabled["disabled_reason"] is None
    assert len(receiver.received) == 1


async def test_the_test_endpoint_sends_one_event_now_and_reports_the_reply(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await create_webhook(client, receiver.url, secret=SECRET, retry_count=3)
    receiver.replies = [(201, "x" * 5000, {})]
    response = await client.post(f"/api/webhooks/{hook['id']}/test")
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is True
    assert result["status_code"] == 201
    assert result["response_excerpt"] == "x" * 2048
    assert result["error"] is None
    assert result["duration_ms"] > 0
    assert SECRET not in response.text
    (request,) = receiver.received
    assert request.headers["X-Webhook-Event"] == "webhook.test"
    assert request.json["event"] == "webhook.test"
    verifier = standardwebhooks.Webhook("whsec_" + base64.b64encode(SECRET.encode()).decode())
    verifier.verify(request.body, request.headers)

    receiver.replies = [(500, "nope", {})]
    failed = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
    assert failed["ok"] is False
    assert failed["status_code"] == 500
    assert "500" in failed["error"]
    assert len(receiver.received) == 2  # no retries for a test

    logged = await deliveries(client, hook["id"])
    assert [(d["event_type"], d["status"], len(d["attempts"])) for d in logged] == [
        ("webhook.test", "failed", 1),
        ("webhook.test", "delivered", 1),
    ]
    assert [d["id"] for d in logged] == [failed["delivery_id"], result["delivery_id"]]


async def test_a_receiver_that_is_not_listening_is_a_logged_connection_error(client: httpx.AsyncClient) -> None:
    with bound_socket() as sock:  # bound, never listening: the connection is refused
        hook = await create_webhook(client, f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
        result = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
    assert result["ok"] is False
    assert result["status_code"] is None
    assert "Connect" in result["error"]


async def test_deliveries_are_listed_newest_first_in_pages(client: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await create_webhook(client, receiver.url)
    for n in range(3):
        await create_product(client, f"SKU-{n}")
    await finished(client, hook["id"], 3)
    first = (await client.get(f"/api/webhooks/{hook['id']}/deliveries", params={"page_size": 2})).json()
    assert first["total"] == 3
    ids = [d["id"] for d in first["items"]]
    assert ids == sorted(ids, reverse=True)
    second = (await client.get(f"/api/webhooks/{hook['id']}/deliveries", params={"page_size": 2, "page": 2})).json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] < ids[-1]
    skus = [json.dumps(d["payload"]["data"]["sku"]) for d in first["items"] + second["items"]]
    assert skus == ['"SKU-2"', '"SKU-1"', '"SKU-0"']
    bad = await client.get(f"/api/webhooks/{hook['id']}/deliveries", params={"status": "lost"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "status"


async def test_redirects_are_not_followed_and_the_webhook_timeout_applies(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    hook = await create_webhook(client, receiver.url, timeout=1)
    receiver.replies = [(307, "", {"Location": f"{base}/elsewhere"})]
    moved = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
    assert moved["ok"] is False and moved["status_code"] == 307
    assert "not followed" in moved["error"]
    assert [r.path for r in receiver.received] == ["/hook"]

    receiver.hold()  # a receiver that never answers: only the webhook's 1 s timeout ends the request
    silent = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
    assert silent["ok"] is False and silent["status_code"] is None
    assert "timeout of 1 s" in silent["error"]
    assert silent["duration_ms"] >= 900
