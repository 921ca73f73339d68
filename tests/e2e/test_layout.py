"""Layouts that survive real data: at 375 and 1440 px, every view fits its width with 100-character
SKUs, 255-character names, 2,000-character descriptions, 100-character token names and 254-character
emails; a cut-off value shows whole on hover, on focus and in the edit dialog; the deliveries dialog
fits a phone; every control is named and axe-core finds nothing on any view or open dialog."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Service
from tests.support.browser import axe_violations
from tests.support.receivers import threaded_receiver

pytestmark = pytest.mark.e2e

LONG_SKU = "LONG-" + "X" * 95  # the limit: 100 characters
LONG_NAME = ("A name that goes on " + "and on " * 40)[:244] + " to the end"  # 255 characters
LONG_DESCRIPTION = ("A description of the kind a supplier's feed carries, word after word. " * 29)[:2000]
UNBROKEN_SKU = "U" * 100  # no break opportunity anywhere
LONG_PATH = "https://example.com/" + "long-path/" * 40
LONG_TOKEN = "A token name for a program " + "T" * 73  # the limit: 100 characters
LONG_EMAIL = "a" * 64 + "@" + ".".join(["long-domain-" + "d" * 46] * 3) + ".examples.com"  # the limit: 254

# Every visible control with no accessible name (label, aria-label, aria-labelledby or text).
UNNAMED_CONTROLS = """
() => [...document.querySelectorAll("button, input, select, textarea, a[href]")]
  .filter((el) => el.getClientRects().length > 0 || el.type === "file")
  .filter((el) => {
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby") || el.textContent.trim() || el.getAttribute("title");
    return !labelled;
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""

# Any visible element whose right edge passes the viewport's, and the page's own scroll width.
OVERFLOW = """
() => ({
  scroll: document.documentElement.scrollWidth,
  past: [...document.querySelectorAll("main *, dialog *")]
    .filter((el) => el.getClientRects().length && !el.closest(".table-wrap, .truncate, .sku, .clamp, input, textarea"))
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
    .map((el) => el.outerHTML.slice(0, 100)),
})
"""


@pytest.fixture(scope="module", autouse=True)
def sample(service: Service) -> None:
    assert len(LONG_SKU) == 100 and len(LONG_NAME) == 255 and len(LONG_DESCRIPTION) == 2000
    assert len(LONG_TOKEN) == 100 and len(LONG_EMAIL) == 254
    with service.api() as api:
        for n in range(10):
            description = "A long description that has to wrap on a narrow screen without pushing the page wider. " * 2
            product = {"sku": f"LAYOUT-{n:02}", "name": f"Layout {n}", "description": description}
            api.post("/api/products", json=product).raise_for_status()
        for sku in (LONG_SKU, UNBROKEN_SKU):
            product = {"sku": sku, "name": LONG_NAME, "description": LONG_DESCRIPTION}
            api.post("/api/products", json=product).raise_for_status()
        api.post("/api/webhooks", json={"url": LONG_PATH, "event_types": ["import.completed"]}).raise_for_status()
        token = {"name": LONG_TOKEN, "scopes": ["products:read", "imports:read", "webhooks:manage"]}
        api.post("/api/tokens", json=token).raise_for_status()
        user = {"email": LONG_EMAIL, "password": "a long enough password", "role": "viewer"}
        api.post("/api/users", json=user).raise_for_status()


@pytest.fixture(params=[375, 1440], ids=["375px", "1440px"])
def sized(request: pytest.FixtureRequest, browser: Browser, service: Service) -> Iterator[Page]:
    width: int = request.param
    context = browser.new_context(
        base_url=service.url,
        viewport={"width": width, "height": 800},
        storage_state=service.storage_state,
        is_mobile=width < 600,
        has_touch=width < 600,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def assert_fits(page: Page) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= width, found
    assert found["past"] == [], found["past"]
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert axe_violations(page) == []


def test_every_view_fits_with_long_values_and_passes_axe(sized: Page) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.goto("/#import")
    expect(page.get_by_test_id("dropzone")).to_be_visible()
    expect(page.get_by_test_id("import-history")).to_be_attached()
    expect(page.get_by_text("No imports yet")).to_be_visible()
    assert_fits(page)

    page.goto("/#products")
    rows = page.get_by_test_id("products-table").locator("tbody tr")
    expect(rows).to_have_count(12)
    assert_fits(page)
    for sku in (LONG_SKU, UNBROKEN_SKU):
        row = rows.filter(has=page.locator(f"code[title='{sku}']"))
        # Cut with an ellipsis, the whole value in its title (hover); the row's actions on screen.
        code = row.locator(".col-sku code")
        assert code.evaluate("(el) => el.scrollWidth > el.clientWidth")
        assert row.locator(".col-name .truncate").get_attribute("title") == LONG_NAME
        assert row.locator(".col-desc .clamp").get_attribute("title") == LONG_DESCRIPTION
        edit = row.get_by_role("button", name=f"Edit {sku}")
        box = edit.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        # Keyboard focus in the row shows the whole value, over the rows below.
        edit.focus()
        whole = row.locator(".col-sku").evaluate("(td) => getComputedStyle(td, '::after').content")
        assert whole == f'"{sku}"'
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # A selection's bar and its actions fit too.
    rows.filter(has=page.locator(f"code[title='{UNBROKEN_SKU}']")).locator("input[type=checkbox]").check()
    expect(page.locator("#selection-text")).to_have_text("1 selected.")
    assert_fits(page)
    page.locator("#selection-bar").get_by_role("button", name="Clear selection").click()
    expect(page.locator("#selection-bar")).to_be_hidden()

    # The edit dialog holds each value whole, its history too, and fits.
    rows.filter(has=page.locator(f"code[title='{UNBROKEN_SKU}']")).get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name=f"Edit {UNBROKEN_SKU}")
    expect(dialog.get_by_label("SKU")).to_have_value(UNBROKEN_SKU)
    expect(dialog.get_by_label("Name")).to_have_value(LONG_NAME)
    expect(dialog.get_by_label("Description")).to_have_value(LONG_DESCRIPTION)
    title = dialog.locator(f"[id='{dialog.get_attribute('aria-labelledby')}']")
    expect(title).to_have_text(f"Edit {UNBROKEN_SKU}")
    expect(dialog.get_by_test_id("history-entry")).to_contain_text(UNBROKEN_SKU)
    assert_fits(page)
    page.keyboard.press("Escape")

    page.get_by_role("button", name=f"Delete {LONG_SKU}").click()
    expect(page.get_by_role("dialog", name="Delete product")).to_contain_text(LONG_NAME)
    assert_fits(page)
    page.keyboard.press("Escape")

    page.get_by_role("button", name="New product").first.click()
    expect(page.get_by_role("dialog", name="New product")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")

    page.goto("/#webhooks")
    hook = page.get_by_test_id("webhooks-table").locator("tbody tr")
    expect(hook).to_have_count(1)
    assert_fits(page)
    page.get_by_role("button", name="New webhook").first.click()
    expect(page.get_by_role("dialog", name="New webhook")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")


def test_the_access_views_and_their_dialogs_fit_with_long_values_and_pass_axe(sized: Page) -> None:
    page = sized
    page.goto("/#tokens")
    tokens = page.get_by_test_id("tokens-table")
    expect(tokens).to_contain_text(LONG_TOKEN)
    assert_fits(page)
    page.get_by_role("button", name="New token").click()
    dialog = page.get_by_role("dialog", name="New API token")
    expect(dialog).to_be_visible()
    assert_fits(page)
    dialog.get_by_label("Name").fill(LONG_TOKEN)
    dialog.get_by_role("button", name="Create token").click()
    created = page.get_by_role("dialog", name=f"Token {LONG_TOKEN} created")
    expect(created.get_by_role("textbox")).to_have_value(re.compile("^fk_"))
    assert_fits(page)
    created.get_by_role("button", name="Done").click()
    tokens.get_by_role("button", name=f"Revoke {LONG_TOKEN}").first.click()
    expect(page.get_by_role("dialog", name="Revoke token")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")

    page.goto("/#users")
    row = page.get_by_test_id("users-table").locator("tr", has_text=LONG_EMAIL)
    expect(row).to_be_visible()
    assert_fits(page)
    page.get_by_role("button", name="New user").click()
    expect(page.get_by_role("dialog", name="New user")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")
    row.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("dialog", name=f"New password for {LONG_EMAIL}")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")
    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("dialog", name="Disable user")).to_be_visible()
    assert_fits(page)
    page.keyboard.press("Escape")

    page.goto("/#audit")
    expect(page.get_by_test_id("audit-table")).to_contain_text(LONG_EMAIL)
    assert_fits(page)


def test_the_deliveries_dialog_fits_a_phone_with_long_replies(browser: Browser, service: Service) -> None:
    reply = ("<html><body><h1>503 Service Unavailable</h1>" + "maintenance " * 60 + "</body></html>").encode()
    with threaded_receiver(lambda path: (503, reply)) as receiver:
        with service.api() as api:
            url = f"{receiver.url}?{'q=' + 'x' * 300}"
            hook = api.post("/api/webhooks", json={"url": url, "event_types": ["product.created"], "retry_count": 0})
            hook.raise_for_status()
            product = api.post("/api/products", json={"sku": "DELIVER-" + "D" * 90, "name": "Delivered"})
            product.raise_for_status()
        receiver.wait_for(1)
        context = browser.new_context(
            base_url=service.url,
            viewport={"width": 375, "height": 740},
            storage_state=service.storage_state,
            is_mobile=True,
            has_touch=True,
        )
        try:
            page = context.new_page()
            page.goto("/#webhooks")
            row = page.get_by_test_id("webhooks-table").locator("tbody tr").filter(has_text="q=xxxx")
            expect(row.get_by_test_id("last-delivery")).to_contain_text("failed")
            row.get_by_role("button", name="Deliveries").click()
            dialog = page.get_by_role("dialog", name="Deliveries")
            delivery = dialog.get_by_test_id("delivery").first
            expect(delivery).to_contain_text("failed")
            delivery.locator("summary").click()
            # The receiver's reply shows although its status is an error, beside the error.
            expect(delivery.locator("table")).to_contain_text("The receiver answered 503")
            expect(delivery.locator("table")).to_contain_text("maintenance maintenance")
            box = dialog.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
            no_sideways = """(el) => [el, ...el.querySelectorAll(".modal__body, .table-wrap")]
                .every((n) => n.scrollWidth <= n.clientWidth)"""
            assert dialog.evaluate(no_sideways)
            assert_fits(page)
        finally:
            context.close()
    with service.api() as api:
        api.delete(f"/api/webhooks/{hook.json()['id']}").raise_for_status()
        api.delete(f"/api/products/{product.json()['id']}").raise_for_status()


def test_keyboard_alone_reaches_the_navigation_upload_filters_and_row_actions(page: Page) -> None:
    page.goto("/#import")
    reached = tab_through(page, 25)
    assert "csv-file" in reached
    assert "Products" in reached
    page.goto("/#products")
    expect(page.get_by_test_id("products-table").locator("tbody tr")).to_have_count(12)
    reached = tab_through(page, 40)
    assert "filter-q" in reached
    assert "filter-active" in reached
    assert any(name.startswith("Edit LAYOUT-") for name in reached)


def tab_through(page: Page, presses: int) -> set[str]:
    reached: set[str] = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "document.activeElement.id || document.activeElement.getAttribute('aria-label')"
                " || document.activeElement.textContent.trim()"
            )
        )
    return reached
