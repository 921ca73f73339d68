"""Custom headers a receiver's gateway needs (reserved ones refused), `max_per_second` across
workers, and a 429's Retry-After pausing the whole webhook."""

from __future__ import annotations

import base64
import itertools
import time

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from fulfil.webhooks import pacing
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook


async def change(client: httpx.AsyncClient, sku: str) -> None:
    assert (await client.post("/api/products", json={"sku": sku, "name": sku})).status_code == 201


async def test_custom_headers_go_with_every_delivery_and_can_be_changed(
    client: httpx.AsyncClient, receiver: Receiver, db: asyncpg.Connection
) -> None:
    headers = {"Authorization": "Bearer gateway-token", "X-Tenant": "acme"}
    hook = await create_webhook(client, receiver.url, headers=headers)
    assert hook["header_names"] == ["Authorization", "X-Tenant"]
    for response in (await client.get(f"/api/webhooks/{hook['id']}"), await client.get("/api/webhooks")):
        assert "gateway-token" not in response.text  # values are write-only: they may be credentials
    stored = await db.fetchval("SELECT headers_sealed FROM webhook WHERE id = $1", hook["id"])
    assert "gateway-token" not in stored and b"gateway-token" not in base64.urlsafe_b64decode(stored)
    await change(client, "H-1")
    (request,) = await receiver.wait_for(1)
    assert request.headers["Authorization"] == "Bearer gateway-token"
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["Content-Type"] == "application/json"

    url = f"/api/webhooks/{hook['id']}"
    assert (await client.put(url, json={"headers": {"X-Tenant": "other"}})).json()["header_names"] == ["X-Tenant"]
    assert (await client.put(url, json={"timeout": 5})).json()["header_names"] == ["X-Tenant"]
    await change(client, "H-2")
    second = (await receiver.wait_for(2))[1]
    assert second.headers["X-Tenant"] == "other"
    assert "Authorization" not in second.headers
    assert (await client.put(url, json={"headers": {}})).json()["header_names"] == []


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"webhook-signature": "v1,forged"}, "set by the service"),
        ({"X-Webhook-Signature": "sha256=0"}, "set by the service"),
        ({"Webhook-Id": "msg_1"}, "set by the service"),
        ({"webhook-timestamp": "1"}, "set by the service"),
        ({"Content-Type": "text/plain"}, "set by the service"),
        ({"Content-Length": "1"}, "set by the service"),
        ({"Host": "internal"}, "set by the service"),
        ({"Transfer-Encoding": "chunked"}, "set by the service"),
        ({"Fulfil-Loop-Guard": "x"}, "set by the service"),
        ({"Bad Name": "x"}, "not a valid HTTP header name"),
        ({"": "x"}, "not a valid HTTP header name"),
        ({"X-É": "x"}, "not a valid HTTP header name"),
        ({"x" * 65: "x"}, "not a valid HTTP header name"),
        ({"X-A": "line\r\nInjected: yes"}, "printable ASCII"),
        ({"X-A": "nul\x00"}, "printable ASCII"),
        ({"X-A": "é"}, "printable ASCII"),
        ({"X-A": " padded"}, "whitespace"),
        ({"X-A": "v" * 1025}, "limit is 1024"),
        ({"X-A": "1", "x-a": "2"}, "given twice"),
        ({f"X-{n}": "v" for n in range(11)}, "at most 10"),
        ({"X-A": 1}, "string"),
        ({"X-A": {"nested": "x"}}, "string"),
        ("not an object", "must be an object"),
    ],
)
async def test_bad_or_reserved_headers_are_refused_naming_them(
    client: httpx.AsyncClient, headers: object, says: str
) -> None:
    body = {"url": "https://example.com/hook", "event_types": ["product.created"], "headers": headers}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert "headers" in response.text
    assert says in response.text
    assert (await client.get("/api/webhooks")).json()["total"] == 0


@pytest.mark.parametrize("value", [0, 10001, 1.5, "5", True])
async def test_max_per_second_is_a_whole_number_within_bounds(client: httpx.AsyncClient, value: object) -> None:
    body = {"url": "https://example.com/hook", "event_types": ["product.created"], "max_per_second": value}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert "max_per_second" in response.text


async def test_max_per_second_spreads_deliveries_to_that_rate(client: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await create_webhook(client, receiver.url, max_per_second=10)
    for n in range(12):
        await change(client, f"RATE-{n}")
    got = await receiver.wait_for(12)
    span = got[11].at - got[0].at
    assert span >= 1.0, f"12 deliveries at 10/s took only {span:.2f} s"
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert min(gaps) > 0.05, gaps
    assert (await client.get(f"/api/webhooks/{hook['id']}")).json()["max_per_second"] == 10


async def test_slots_are_shared_by_every_caller_through_redis(redis_url: str) -> None:
    """Two workers (two Redis clients) taking slots of one webhook at 10/s get them 100 ms apart."""
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        waits, slots = [], []  # the wait each caller got, and when it may send (the time it asked plus that)
        for client in (first, second, first, second):
            asked = time.monotonic()
            waits.append(await pacing.take_slot(client, 7, 10))
            slots.append(asked + waits[-1])
        assert waits[0] == 0
        assert [b - a for a, b in itertools.pairwise(slots)] == pytest.approx([0.1, 0.1, 0.1], abs=0.03)
        await pacing.pause(first, 7, 30)
        assert await pacing.take_slot(second, 7, None) == pytest.approx(-30, abs=0.5)  # too far off: no slot taken
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_429_pauses_the_whole_webhook_for_its_retry_after(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.replies = [(429, "slow down", {"Retry-After": "1"})]
    await create_webhook(client, receiver.url)
    await change(client, "FIRST")
    (limited,) = await receiver.wait_for(1)
    await eventually(lambda: receiver.answered >= 1)
    await change(client, "SECOND")  # another delivery, not the retry: it waits for the pause too
    got = await receiver.wait_for(3)
    later = got[1:]
    assert {r.json["data"]["sku"] for r in later} == {"FIRST", "SECOND"}
    assert min(r.at for r in later) - limited.at >= 0.9
