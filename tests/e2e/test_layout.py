"""Quality checks in the browser: both widths fit without sideways scrolling, every control is named."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Service

pytestmark = pytest.mark.e2e

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


@pytest.fixture(scope="module", autouse=True)
def sample(service: Service) -> None:
    with service.api() as api:
        for n in range(12):
            description = "A long description that has to wrap on a narrow screen without pushing the page wider. " * 2
            product = {"sku": f"LAYOUT-{n:02}", "name": f"Layout {n}", "description": description}
            api.post("/api/products", json=product).raise_for_status()
        api.post(
            "/api/webhooks",
            json={"url": "https://example.com/" + "long-path/" * 12, "event_types": ["product.created"]},
        ).raise_for_status()


@pytest.mark.parametrize("width", [375, 1440])
def test_fits_the_width_and_every_control_has_a_name(browser: Browser, service: Service, width: int) -> None:
    context = browser.new_context(
        base_url=service.url, viewport={"width": width, "height": 800}, storage_state=service.storage_state
    )
    page = context.new_page()
    try:
        page.goto("/")
        expect(page.get_by_test_id("products-table").locator("tbody tr")).to_have_count(12)
        expect(page.get_by_test_id("webhooks-table").locator("tbody tr")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(UNNAMED_CONTROLS) == []
        assert page.locator("#import-announcer").get_attribute("aria-live") == "polite"

        page.get_by_role("button", name="New webhook").first.click()
        dialog = page.get_by_role("dialog", name="New webhook")
        expect(dialog).to_be_visible()
        assert page.evaluate(UNNAMED_CONTROLS) == []
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        context.close()


def test_keyboard_alone_reaches_upload_filters_and_row_actions(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_test_id("products-table").locator("tbody tr")).to_have_count(12)
    reached: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate("document.activeElement.id || document.activeElement.getAttribute('aria-label') || ''")
        )
    assert "csv-file" in reached
    assert "filter-q" in reached
    assert "filter-active" in reached
    assert any(name.startswith("Edit LAYOUT-") for name in reached)
