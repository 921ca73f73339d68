"""Webhooks in the browser: create, test against a local receiver, deliveries and resend."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Service
from tests.support.browser import field_error
from tests.support.receivers import ThreadedReceiver

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
