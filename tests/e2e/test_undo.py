"""Undo in the browser: an import taken back from the history (its counts shown before confirming),
and a product's history in its edit dialog."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Service
from tests.e2e.test_products_edit import row
from tests.e2e.test_upload import choose_csv

pytestmark = pytest.mark.e2e


def test_an_import_is_undone_from_the_history(page: Page) -> None:
    page.goto("/#import")
    csv = "name,sku\n" + "".join(f"Undo me {n},UNDO-{n}\n" for n in range(1, 6))
    choose_csv(page, "five.csv", csv)
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=30_000)
    page.get_by_role("link", name="Products").click()
    expect(row(page, "UNDO-5")).to_have_count(1)
    page.go_back()

    history = page.get_by_test_id("import-history")
    history.locator("tbody tr").first.get_by_test_id("undo-import").click()
    dialog = page.get_by_role("dialog", name="Undo this import")
    expect(dialog).to_contain_text("5 products it created will be deleted and 0 will get their earlier values back")
    dialog.get_by_role("button", name="Undo import").click()

    expect(progress.locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(history.locator("tbody tr").first).to_contain_text("undo of five.csv")
    expect(history.locator("tbody tr").first).to_contain_text("5 deleted, 0 restored")
    expect(history.locator("tbody tr").nth(1).get_by_test_id("undo-import")).to_have_count(0)
    page.get_by_role("link", name="Products").click()
    expect(row(page, "UNDO-5")).to_have_count(0, timeout=30_000)


def test_the_edit_dialog_shows_the_products_history(page: Page, service: Service) -> None:
    with service.api() as api:
        product = api.post("/api/products", json={"sku": "HIST-1", "name": "Before"}).json()
        api.put(f"/api/products/{product['id']}", json={"name": "After"})
    page.goto("/#products")
    row(page, "HIST-1").get_by_role("button", name="Edit HIST-1").click()
    dialog = page.get_by_role("dialog", name="Edit HIST-1")
    entries = dialog.get_by_test_id("history-entry")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Updated by hand · admin@example.com (API token)")
    expect(entries.first).to_contain_text("name Before → After")
    expect(entries.nth(1)).to_contain_text("Created")
