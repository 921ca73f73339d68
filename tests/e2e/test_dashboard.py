"""The dashboard as a person uses it: sections at their own addresses with the back button and
deep links, only the views a role allows, a loading state, live import history and deliveries,
focus that survives a redraw, few toasts clear of the row actions, messages in plain sentences."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import Service
from tests.support.browser import axe_violations, field_error, sign_in
from tests.support.receivers import threaded_receiver

pytestmark = pytest.mark.e2e

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def nav_current(page: Page) -> str | None:
    return page.locator("#topnav a[aria-current=page]").text_content()


def test_sections_have_their_own_addresses_the_back_button_and_deep_links(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/#import$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import products")
    assert nav_current(page) == "Import"
    assert page.get_by_role("link", name="Fulfil-RK").get_attribute("href") == "/"

    page.get_by_role("link", name="Products").click()
    expect(page).to_have_url(re.compile(r"/#products$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # a screen reader hears where it landed
    expect(page.get_by_test_id("dropzone")).to_be_hidden()
    assert nav_current(page) == "Products"
    assert page.title().startswith("Products")

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    assert nav_current(page) == "Webhooks"
    page.go_back()
    expect(page).to_have_url(re.compile(r"/#products$"))
    assert nav_current(page) == "Products"
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import products")
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")

    page.goto("/?sort=sku#webhooks")  # a deep link, with the products' own query beside it
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    page.goto("/#nowhere")
    expect(page).to_have_url(re.compile(r"/#import$"))

    # The skip link moves focus into the view without leaving it.
    page.goto("/#products")
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/#products$"))


def test_a_viewer_sees_only_the_views_of_its_role(browser: Browser, service: Service) -> None:
    email, password = "viewer@example.com", "a viewer's long password"
    with service.api() as api:
        api.post("/api/users", json={"email": email, "password": password, "role": "viewer"}).raise_for_status()
    state = sign_in(browser, service.url, email, password)
    context = browser.new_context(base_url=service.url, storage_state=state)
    try:
        page = context.new_page()
        page.goto("/#webhooks")
        expect(page).to_have_url(re.compile(r"/#import$"))
        expect(page.locator("#topnav a[data-view]")).to_have_text(["Import", "Products", "API tokens"])
        assert axe_violations(page) == []
    finally:
        context.close()


def test_the_first_load_shows_a_loading_state(page: Page) -> None:
    held: list[Route] = []
    page.route("**/api/products?*", lambda route: held.append(route))
    page.goto("/#products")
    expect(page.get_by_role("status").filter(has_text="Loading products…")).to_be_visible()
    assert axe_violations(page) == []
    for route in held:
        route.continue_()
    page.unroute("**/api/products?*")
    expect(page.get_by_text("Loading products…")).to_have_count(0)


def test_the_history_row_follows_a_running_import(page: Page, service: Service) -> None:
    rows = 60_000
    csv = "name,sku\n" + "".join(f"Live {n},LIVE-{n:06}\n" for n in range(rows))
    page.goto("/#import")
    expect(page.get_by_test_id("import-history")).to_be_attached()
    with service.api() as api:
        api.post("/api/upload", files={"file": ("live.csv", csv.encode(), "text/csv")}).raise_for_status()
    page.get_by_role("button", name="Refresh import history").click()
    row = page.get_by_test_id("import-history").locator("tbody tr").filter(has_text="live.csv")
    created = row.locator("td[data-label=Created]")
    # Counts climb while it runs, without a reload; then the row says it is done.
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-testid=import-history] tbody tr")].some((tr) =>
            tr.textContent.includes("live.csv") && tr.querySelector(".badge").textContent === "Running"
            && Number(tr.querySelector("td[data-label=Created]").textContent.replace(/\\D/g, "")) > 0)""",
        timeout=30_000,
    )
    expect(row.locator(".badge")).to_have_text("Completed", timeout=60_000)
    expect(created).to_have_text(f"{rows:,}")


def test_deliveries_last_delivery_and_retries_show_without_a_reload(page: Page, service: Service) -> None:
    with threaded_receiver(lambda path: (503, b"down for maintenance")) as receiver:
        with service.api() as api:
            hook = api.post(
                "/api/webhooks", json={"url": receiver.url, "event_types": ["product.created"], "retry_count": 8}
            ).json()
        page.goto("/#webhooks")
        row = page.get_by_test_id("webhooks-table").locator(f"tbody tr[data-id='{hook['id']}']")
        expect(row.get_by_test_id("last-delivery")).to_have_text("None yet")
        row.get_by_role("button", name="Deliveries").click()
        dialog = page.get_by_role("dialog", name="Deliveries")
        expect(dialog).to_contain_text("No deliveries yet")
        page.evaluate(
            """() => { window.seenNextAttempt = false; new MutationObserver(() => {
                if (document.querySelector("[data-testid=next-attempt]")) window.seenNextAttempt = true;
            }).observe(document.body, { subtree: true, childList: true }); }"""
        )
        with service.api() as api:
            api.post("/api/products", json={"sku": "LIVE-HOOK", "name": "Live"}).raise_for_status()
        delivery = dialog.get_by_test_id("delivery")
        expect(delivery).to_have_count(1, timeout=15_000)
        expect(delivery).to_have_attribute("data-status", "pending")
        expect(delivery.get_by_test_id("next-attempt")).to_contain_text(re.compile(r"\d:\d\d:\d\d"))
        delivery.locator("summary").click()
        expect(delivery.locator("tbody tr")).not_to_have_count(1, timeout=15_000)  # new attempts arrive
        expect(delivery.locator("details")).to_have_attribute("open", "")  # and the table stays open
        times = delivery.locator("td[data-label=When]").all_text_contents()
        assert all(re.search(r"\d:\d\d:\d\d", text) for text in times), times  # to the second
        expect(delivery.locator("table")).to_contain_text("The receiver answered 503")
        expect(delivery.locator("table")).to_contain_text("down for maintenance")  # the reply, although an error
        assert page.evaluate("window.seenNextAttempt")
        assert axe_violations(page) == []
        page.keyboard.press("Escape")
        expect(row.get_by_test_id("last-delivery")).to_contain_text(re.compile("pending|failed"))
    with service.api() as api:
        api.delete(f"/api/webhooks/{hook['id']}").raise_for_status()


def test_focus_comes_back_after_a_redraw(page: Page, service: Service) -> None:
    with service.api() as api:
        ids = [
            api.post("/api/products", json={"sku": f"FOCUS-{n}", "name": f"Focus {n}"}).json()["id"] for n in range(3)
        ]
        hook = api.post("/api/webhooks", json={"url": "https://example.com/focus", "event_types": ["product.created"]})
    page.goto("/?q=FOCUS-#products")
    table = page.get_by_test_id("products-table")
    expect(table.locator("tbody tr")).to_have_count(3)

    # Deleting a row: focus goes to the same control of the row that took its place.
    page.get_by_role("button", name="Delete FOCUS-1").focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Delete product").get_by_role("button", name="Delete product").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Delete FOCUS-0")).to_be_focused()

    # Editing: back on the Edit button of the redrawn row.
    page.get_by_role("button", name="Edit FOCUS-2").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Edit FOCUS-2")
    dialog.get_by_label("Name").fill("Focus two")
    dialog.get_by_role("button", name="Save changes").click()
    expect(table.locator(f"tr[data-id='{ids[2]}']")).to_contain_text("Focus two")
    expect(page.get_by_role("button", name="Edit FOCUS-2")).to_be_focused()

    # The webhook's switch keeps focus through the list's redraw.
    page.get_by_role("link", name="Webhooks").click()
    switch = page.get_by_role("switch", name="Enabled: https://example.com/focus")
    switch.focus()
    page.keyboard.press("Space")
    expect(page.locator(".toast").last).to_contain_text("Webhook paused")
    expect(switch).not_to_be_checked()
    expect(switch).to_be_focused()
    with service.api() as api:
        api.delete(f"/api/webhooks/{hook.json()['id']}").raise_for_status()


def test_toasts_are_few_and_clear_of_the_row_actions(page: Page, service: Service) -> None:
    with service.api() as api:
        for n in range(3):
            api.post("/api/products", json={"sku": f"TOAST-{n}", "name": f"Toast {n}"}).raise_for_status()
    page.goto("/?q=TOAST-#products")
    expect(page.get_by_test_id("products-table").locator("tbody tr")).to_have_count(3)
    page.evaluate(
        """async () => { const { toast } = await import("/js/ui.js");
            for (let n = 1; n <= 5; n++) toast(`Toast number ${n} with a message long enough to wrap.`); }"""
    )
    shown = page.locator(".toast:not(.toast--leaving)")
    expect(shown).to_have_count(3)
    expect(shown.first).to_contain_text("Toast number 3")
    boxes: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll(".row-actions")].map((el) => el.getBoundingClientRect().toJSON())"""
    )
    region = page.locator("#toasts").bounding_box()
    assert region is not None
    for box in boxes:
        apart = (
            box["right"] <= region["x"]
            or box["left"] >= region["x"] + region["width"]
            or box["bottom"] <= region["y"]
            or box["top"] >= region["y"] + region["height"]
        )
        assert apart, (box, region)


def test_icons_are_drawn_and_messages_are_sentences_naming_the_field(page: Page) -> None:
    page.goto("/#webhooks")
    page.get_by_role("button", name="New webhook").first.click()
    dialog = page.get_by_role("dialog", name="New webhook")
    dialog.get_by_label("URL").fill("https://example.com/sentences")
    dialog.get_by_label("Timeout (seconds)").fill("0")
    dialog.get_by_label("Retry count").fill("99")
    dialog.get_by_role("button", name="Create webhook").click()
    expect(field_error(dialog, "Timeout (seconds)")).to_have_text("Timeout (seconds) must be at least 1.")
    expect(field_error(dialog, "Retry count")).to_have_text("Retry count must be at most 20.")
    assert "Input should" not in dialog.inner_text()
    page.keyboard.press("Escape")
    for view in ("import", "products", "webhooks"):
        page.goto(f"/#{view}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert not EMOJI.search(page.locator("body").inner_text())
