"""Webhooks in the browser: create, test against a local receiver, deliveries and resend, rotate the
secret, recover what failed, and the banner of a webhook the service disabled."""

from __future__ import annotations

import re
from collections.abc import Callable

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Service
from tests.support.blocking import run_async
from tests.support.browser import axe_violations, field_error
from tests.support.receivers import ThreadedReceiver, threaded_receiver
from tests.support.waiting import eventually_blocking

pytestmark = pytest.mark.e2e


def test_create_test_and_see_its_deliveries(page: Page, service: Service, receiver: ThreadedReceiver) -> None:
    page.goto("/#webhooks")
    page.locator("#webhooks").get_by_role("button", name="New webhook").first.click()
    dialog = page.get_by_role("dialog", name="New webhook")

    # A bad URL and no events: the API's 422s land on their fields.
    dialog.get_by_label("URL").fill("ftp://example.com/hook")
    for box in dialog.locator("input[name=event]").all():
        box.uncheck()
    dialog.get_by_role("button", name="Create webhook").click()
    expect(field_error(dialog, "URL")).to_have_text("URL must start with http:// or https://.")
    expect(dialog.locator("#wh-events-error")).to_contain_text("Choose at least one event type")

    dialog.get_by_label("URL").fill(receiver.url)
    dialog.get_by_label("product.created").check()
    dialog.get_by_label("import.completed").check()
    dialog.get_by_label("Secret").fill("s3cret")
    dialog.get_by_label("Timeout (seconds)").fill("5")
    dialog.get_by_label("Retry count").fill("1")
    dialog.get_by_role("button", name="Create webhook").click()
    expect(dialog).to_be_hidden()

    hook = page.locator("[data-testid=webhooks-table] tbody tr").filter(has_text=receiver.url)
    expect(hook).to_contain_text("product.created")
    expect(hook).to_contain_text("import.completed")
    expect(hook).to_contain_text("Timeout 5 s · 1 retry · signed")
    expect(hook).to_contain_text("None yet")
    with service.api() as api:
        stored = api.get("/api/webhooks").json()["items"][0]
    assert stored["has_secret"] is True and "secret" not in stored

    # Test: the receiver answers, the row shows the code and the time.
    hook.get_by_role("button", name=f"Test {receiver.url}").click()
    expect(hook.get_by_test_id("test-result")).to_have_text(re.compile(r"^200 · \d+ ms$"))
    hits = receiver.wait_for(1)
    assert hits[0].headers["X-Webhook-Event"] == "webhook.test"
    expect(hook.get_by_test_id("last-delivery")).to_contain_text("delivered")

    # A product change is delivered too; the deliveries panel lists both with their attempts.
    with service.api() as api:
        api.post("/api/products", json={"sku": "HOOK-1", "name": "Hooked"}).raise_for_status()
    receiver.wait_for(2)
    hook.get_by_role("button", name="Deliveries").click()
    panel = page.get_by_role("dialog", name="Deliveries")
    deliveries = panel.get_by_test_id("delivery")
    expect(deliveries).to_have_count(2)
    created = deliveries.filter(has_text="product.created")
    expect(created).to_contain_text("delivered")
    expect(created).to_contain_text("HTTP 200")
    created.locator("summary", has_text="Attempts").click()
    expect(created.locator("table")).to_contain_text("received")
    expect(deliveries.filter(has_text="webhook.test")).to_contain_text("delivered")

    created.get_by_role("button", name=re.compile("^Resend delivery")).click()
    expect(page.locator(".toast").last).to_contain_text("Delivery queued again.")
    hits = receiver.wait_for(3)
    assert hits[2].json["event"] == "product.created"
    panel.get_by_role("button", name="Close", exact=True).click()
    expect(panel).to_be_hidden()


def test_enabled_switch_pauses_the_webhook(page: Page, service: Service, receiver: ThreadedReceiver) -> None:
    with service.api() as api:
        api.post("/api/webhooks", json={"url": receiver.url, "event_types": ["product.updated"]}).raise_for_status()
    page.goto("/#webhooks")
    hook = page.locator("[data-testid=webhooks-table] tbody tr").filter(has_text=receiver.url)
    switch = hook.get_by_role("switch")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.locator(".toast").last).to_contain_text("Webhook paused")
    with service.api() as api:
        hooks = {h["url"]: h for h in api.get("/api/webhooks").json()["items"]}
    assert hooks[receiver.url]["enabled"] is False

    hook.get_by_role("button", name=f"Delete {receiver.url}").click()
    page.get_by_role("dialog", name="Delete webhook").get_by_role("button", name="Delete webhook").click()
    expect(hook).to_have_count(0)


def failing_then_ok() -> tuple[dict[str, int], Callable[[str], tuple[int, bytes]]]:
    """A receiver's answer that is 503 until `state["status"]` is set to 200."""
    state = {"status": 503}

    def answer(path: str) -> tuple[int, bytes]:
        return state["status"], b"ok" if state["status"] == 200 else b"down"

    return state, answer


def wait_until_failed(service: Service, webhook_id: int, count: int) -> None:
    def failed() -> bool:
        with service.api() as api:
            items = api.get(f"/api/webhooks/{webhook_id}/deliveries", params={"status": "failed"}).json()["items"]
        return len(items) >= count

    eventually_blocking(failed, what=f"{count} failed deliveries")


def test_rotate_shows_the_new_secret_once(page: Page, service: Service, receiver: ThreadedReceiver) -> None:
    with service.api() as api:
        body = {"url": receiver.url, "event_types": ["product.created"], "secret": "the-old-one"}
        api.post("/api/webhooks", json=body).raise_for_status()
    page.goto("/#webhooks")
    hook = page.locator("[data-testid=webhooks-table] tbody tr").filter(has_text=receiver.url)
    hook.get_by_role("button", name=f"Rotate the secret of {receiver.url}").click()
    dialog = page.get_by_role("dialog", name="Rotate secret")
    dialog.get_by_label("Grace period").select_option(label="1 hour")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Rotate secret").click()
    shown = dialog.get_by_label("The new secret")
    expect(shown).to_be_visible()
    secret = shown.input_value()
    assert len(secret) >= 40
    expect(dialog.get_by_test_id("rotated-secret")).to_contain_text("The old secret signs too until")
    expect(dialog.get_by_role("button", name="Rotate secret")).to_have_count(0)  # once: no second rotation here
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("body")).not_to_contain_text(secret)

    with service.api() as api:
        api.post("/api/products", json={"sku": "ROT-1", "name": "Rotated"}).raise_for_status()
    (hit,) = receiver.wait_for(1)
    assert len(hit.headers["webhook-signature"].split(" ")) == 2  # new and old, through the grace


def test_recover_counts_first_then_sends_again(page: Page, service: Service) -> None:
    state, answer = failing_then_ok()
    with threaded_receiver(answer) as receiver, service.api() as api:
        body = {"url": receiver.url, "event_types": ["product.created"], "retry_count": 0}
        hook_id = api.post("/api/webhooks", json=body).json()["id"]
        for sku in ("REC-1", "REC-2"):
            api.post("/api/products", json={"sku": sku, "name": sku}).raise_for_status()
        wait_until_failed(service, hook_id, 2)
        state["status"] = 200

        page.goto("/#webhooks")
        hook = page.locator("[data-testid=webhooks-table] tbody tr").filter(has_text=receiver.url)
        expect(hook.get_by_test_id("webhook-stats")).to_contain_text("0% delivered")
        hook.get_by_role("button", name=f"Recover {receiver.url}").click()
        dialog = page.get_by_role("dialog", name="Recover")
        dialog.get_by_role("button", name="Count failed deliveries").click()
        expect(dialog.get_by_test_id("recover-count")).to_contain_text("2 failed deliveries in this window")
        assert len(receiver.hits) == 2  # counted, nothing sent yet
        assert axe_violations(page) == []
        dialog.get_by_role("button", name="Recover 2 deliveries").click()
        expect(page.locator(".toast").last).to_contain_text("2 deliveries queued again.")
        hits = receiver.wait_for(4)
        assert sorted(h.json["data"]["sku"] for h in hits[2:]) == ["REC-1", "REC-2"]  # the order: tests/webhooks


def test_a_disabled_webhook_shows_a_banner_with_recover_and_enable(page: Page, service: Service) -> None:
    state, answer = failing_then_ok()
    with threaded_receiver(answer) as receiver, service.api() as api:
        body = {"url": receiver.url, "event_types": ["product.created"], "retry_count": 0}
        hook_id = api.post("/api/webhooks", json=body).json()["id"]
        api.post("/api/products", json={"sku": "BAN-1", "name": "Banner"}).raise_for_status()
        wait_until_failed(service, hook_id, 1)
        # As the service does after WEBHOOK_DISABLE_AFTER_HOURS of failures (tests/webhooks/test_operations.py).
        run_async(disable(service.database_url, hook_id))
        state["status"] = 200

        page.goto("/#webhooks")
        banner = page.get_by_test_id("webhook-banners").locator(".notice").filter(has_text=receiver.url)
        expect(banner).to_contain_text("Every delivery failed since")
        assert axe_violations(page) == []
        banner.get_by_role("button", name=f"Recover and enable {receiver.url}").click()
        dialog = page.get_by_role("dialog", name="Recover and enable")
        dialog.get_by_role("button", name="Count failed deliveries").click()
        expect(dialog.get_by_test_id("recover-count")).to_contain_text("1 failed delivery in this window")
        dialog.get_by_role("button", name="Enable and recover 1").click()
        expect(page.locator(".toast").last).to_contain_text("1 delivery queued again.")
        expect(banner).to_have_count(0)
        hits = receiver.wait_for(2)
        assert hits[1].json["data"]["sku"] == "BAN-1"
        assert api.get(f"/api/webhooks/{hook_id}").json()["enabled"] is True


async def disable(database_url: str, webhook_id: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE webhook SET enabled = false, disabled_at = now(), failing_since = now() - interval '1 hour',"
            " disabled_reason = 'every delivery failed since yesterday (7 failed)' WHERE id = $1",
            webhook_id,
        )
    finally:
        await conn.close()


def test_extra_headers_and_a_rate_from_the_edit_form(page: Page, service: Service, receiver: ThreadedReceiver) -> None:
    with service.api() as api:
        api.post("/api/webhooks", json={"url": receiver.url, "event_types": ["product.created"]}).raise_for_status()
    page.goto("/#webhooks")
    hook = page.locator("[data-testid=webhooks-table] tbody tr").filter(has_text=receiver.url)
    hook.get_by_role("button", name=f"Edit {receiver.url}").click()
    dialog = page.get_by_role("dialog", name="Edit webhook")
    dialog.get_by_label("Extra headers").fill("Host: internal")
    dialog.get_by_role("button", name="Save changes").click()
    expect(field_error(dialog, "Extra headers")).to_contain_text("set by the service itself")

    dialog.get_by_label("Extra headers").fill("X-Tenant: acme\nAuthorization: Bearer gateway")
    dialog.get_by_label("Deliveries per second").fill("5")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    with service.api() as api:
        saved = next(h for h in api.get("/api/webhooks").json()["items"] if h["url"] == receiver.url)
        assert saved["header_names"] == ["X-Tenant", "Authorization"] and saved["max_per_second"] == 5
        api.post("/api/products", json={"sku": "HDR-1", "name": "Headers"}).raise_for_status()
    (hit,) = receiver.wait_for(1)
    assert hit.headers["X-Tenant"] == "acme" and hit.headers["Authorization"] == "Bearer gateway"
