"""Running webhooks over years: recover what failed, disable a webhook that keeps failing (and
say so), its 24-hour stats, and the loop guard that keeps the service from calling itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from fulfil.settings import Settings
from tests.support.access import token_headers
from tests.support.live import LiveServer, start_live_server
from tests.support.ports import bound_socket
from tests.support.receivers import Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook, deliveries


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


HOUR_AGO = iso(datetime.now(UTC) - timedelta(hours=1))


async def change(client: httpx.AsyncClient, sku: str) -> None:
    assert (await client.post("/api/products", json={"sku": sku, "name": sku})).status_code == 201


async def all_ended(client: httpx.AsyncClient, webhook_id: int, count: int, status: str) -> list[dict]:
    async def check() -> list[dict] | None:
        items = [d for d in await deliveries(client, webhook_id) if d["status"] == status]
        return items if len(items) >= count else None

    return await eventually(check, what=f"{count} deliveries {status}")  # type: ignore[no-any-return]


async def test_recover_counts_first_then_sends_each_failure_again_with_its_webhook_id(
    client: httpx.AsyncClient, receiver: Receiver, db: asyncpg.Connection
) -> None:
    receiver.default = (503, "down", {})
    hook = await create_webhook(client, receiver.url, retry_count=0, max_per_second=10)  # the rate keeps the order
    for sku in ("R-1", "R-2", "R-3", "R-OLD"):
        await change(client, sku)
    failed = await all_ended(client, hook["id"], 4, "failed")
    old = next(d for d in failed if d["payload"]["data"]["sku"] == "R-OLD")
    await db.execute("UPDATE webhook_delivery SET finished_at = now() - interval '2 days' WHERE id = $1", old["id"])
    receiver.received.clear()
    receiver.default = (200, "ok", {})

    url = f"/api/webhooks/{hook['id']}/recover"
    counted = await client.post(url, json={"since": HOUR_AGO, "dry_run": True})
    assert counted.status_code == 200
    assert counted.json() == {"queued": 0, "matching": 3}
    assert receiver.received == []

    response = await client.post(url, json={"since": HOUR_AGO, "until": iso(datetime.now(UTC) + timedelta(minutes=1))})
    assert response.status_code == 202, response.text
    assert response.json() == {"queued": 3, "matching": 3}
    got = await receiver.wait_for(3)
    in_window = sorted((d for d in failed if d["id"] != old["id"]), key=lambda d: d["id"])
    assert [r.headers["webhook-id"] for r in got] == [d["message_id"] for d in in_window]  # same ids, newest last
    await all_ended(client, hook["id"], 3, "delivered")
    audit = await db.fetchval("SELECT details->>'queued' FROM audit_event WHERE action = 'webhook.recovered'")
    assert audit == "3"
    assert (await client.post(url, json={"since": HOUR_AGO})).json() == {"queued": 0, "matching": 0}


async def test_recover_is_refused_while_disabled_and_checks_its_window(client: httpx.AsyncClient) -> None:
    hook = await create_webhook(client, "https://example.com/hook", enabled=False)
    url = f"/api/webhooks/{hook['id']}/recover"
    refused = await client.post(url, json={"since": HOUR_AGO})
    assert refused.status_code == 409
    assert "disabled" in refused.json()["error"]["message"]
    counted = await client.post(url, json={"since": HOUR_AGO, "dry_run": True})
    assert counted.json() == {"queued": 0, "matching": 0}  # counting first is allowed
    for body, field in [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no time zone
        ({"since": HOUR_AGO, "until": iso(datetime.now(UTC) - timedelta(hours=2))}, "until"),
        ({"since": HOUR_AGO, "dry_run": "yes"}, "dry_run"),
        ({"since": "\x00" * 10_000}, "since"),
    ]:
        response = await client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    assert (await client.post("/api/webhooks/999999/recover", json={"since": HOUR_AGO})).status_code == 404


@pytest.fixture
async def quick_to_disable(settings: Settings) -> AsyncIterator[LiveServer]:
    """A service that disables a webhook after its deliveries all failed for a second (5 at least)."""
    live = await start_live_server(settings.model_copy(update={"webhook_disable_after_hours": 1 / 3600}))
    yield live
    await live.stop()


async def test_a_webhook_failing_for_long_is_disabled_announced_audited_and_recovered(
    quick_to_disable: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    headers = await token_headers(quick_to_disable.resources.db)
    async with httpx.AsyncClient(base_url=quick_to_disable.url, headers=headers) as client:
        watcher = await create_webhook(client, receiver.url, event_types=["webhook.disabled"])
        with bound_socket() as sock:  # bound, never listening: every delivery is refused
            hook = await create_webhook(client, f"http://127.0.0.1:{sock.getsockname()[1]}/hook", retry_count=0)
            for n in range(5):
                await change(client, f"F-{n}")
            await all_ended(client, hook["id"], 5, "failed")
            assert (await client.get(f"/api/webhooks/{hook['id']}")).json()["enabled"] is True  # 5, but not 1 s yet
            skus = iter(range(100))

            async def disabled() -> dict | None:
                await change(client, f"G-{next(skus)}")
                shown = (await client.get(f"/api/webhooks/{hook['id']}")).json()
                return None if shown["enabled"] else shown

            shown = await eventually(disabled, every=0.3, what="the failing webhook disabled")
        assert shown["disabled_reason"].startswith("every delivery failed since ")
        assert shown["disabled_at"] is not None and shown["failing_since"] is not None

        (notice,) = await receiver.wait_for(1)
        assert notice.json["event"] == "webhook.disabled"
        assert notice.json["data"]["webhook_id"] == hook["id"]
        assert notice.json["data"]["reason"] == shown["disabled_reason"]
        assert await db.fetchval(
            "SELECT count(*) FROM audit_event WHERE action = 'webhook.disabled' AND target = $1",
            f"webhook {hook['id']}",
        )
        assert (await client.get(f"/api/webhooks/{watcher['id']}")).json()["enabled"] is True

        # "Recover and enable": enabled again (at a working address), then everything since it began failing.
        enabled = await client.put(f"/api/webhooks/{hook['id']}", json={"enabled": True, "url": receiver.url})
        assert enabled.json()["disabled_reason"] is None and enabled.json()["failing_since"] is None
        recovered = await client.post(f"/api/webhooks/{hook['id']}/recover", json={"since": shown["failing_since"]})
        queued = recovered.json()["queued"]
        assert queued >= 6
        await receiver.wait_for(1 + queued)
        assert {r.json["event"] for r in receiver.received[1:]} == {"product.created"}


async def test_stats_give_the_last_day_success_rate_and_response_times(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await create_webhook(client, receiver.url, retry_count=0)
    receiver.replies = [(200, "ok", {}), (200, "ok", {}), (200, "ok", {}), (500, "no", {})]
    for n in range(4):
        await change(client, f"S-{n}")
        await receiver.wait_for(n + 1)
    await all_ended(client, hook["id"], 3, "delivered")
    await all_ended(client, hook["id"], 1, "failed")
    stats = (await client.get(f"/api/webhooks/{hook['id']}/stats")).json()
    assert stats["window_hours"] == 24
    assert (stats["delivered"], stats["failed"], stats["success_rate"]) == (3, 1, 0.75)
    assert 0 < stats["p50_ms"] <= stats["p95_ms"]
    empty = (await client.get(f"/api/webhooks/{(await create_webhook(client, receiver.url))['id']}/stats")).json()
    assert (empty["success_rate"], empty["p50_ms"]) == (None, None)
    assert (await client.get("/api/webhooks/999999/stats")).status_code == 404


async def test_a_webhook_pointed_at_the_service_itself_is_refused_not_looped(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, "https://example.com/hook")
    own = f"{live_server.url}/api/webhooks/{hook['id']}/test"
    await client.put(f"/api/webhooks/{hook['id']}", json={"url": own})

    result = (await client.post(f"/api/webhooks/{hook['id']}/test")).json()
    assert result["ok"] is False
    assert result["status_code"] == 508
    assert "leads back to this service" in result["error"]
    # The inner call never ran: only the outer test delivery exists.
    assert await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE webhook_id = $1", hook["id"]) == 1

    await change(client, "LOOP")
    ended = await all_ended(client, hook["id"], 2, "failed")  # the test, then the change
    (failed,) = [d for d in ended if d["event_type"] == "product.created"]
    assert len(failed["attempts"]) == 1  # refused, not retried
    assert await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE webhook_id = $1", hook["id"]) == 2
