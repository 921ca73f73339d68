"""Products in the browser: create, edit (API errors on their fields), delete, Bulk Delete, modals."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Service
from tests.support.browser import field_error

pytestmark = pytest.mark.e2e


def row(page: Page, sku: str) -> Locator:
    return page.locator("[data-testid=products-table] tbody tr").filter(has=page.locator(".col-sku", has_text=sku))


def test_create_edit_with_a_taken_sku_then_delete(page: Page, service: Service) -> None:
    with service.api() as api:
        taken = api.post("/api/products", json={"sku": "TAKEN-1", "name": "Already here"}).json()
    page.goto("/#products")
    expect(row(page, "TAKEN-1")).to_have_count(1)

    # Create, with a blank name first: the API's 422 lands on the Name field.
    page.get_by_role("button", name="New product").first.click()
    dialog = page.get_by_role("dialog", name="New product")
    dialog.get_by_label("SKU").fill("new-1")
    dialog.get_by_role("button", name="Create product").click()
    expect(field_error(dialog, "Name")).to_have_text("Name is required and cannot be blank.")
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Name").fill("New one")
    dialog.get_by_label("Description").fill("Made in the browser")
    dialog.get_by_role("button", name="Create product").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Created new-1.")
    expect(row(page, "new-1")).to_contain_text("New one")

    # Edit onto the taken SKU (another case): the 409 names the product that has it, with a link to
    # it, on the SKU field, and the modal stays.
    row(page, "new-1").get_by_role("button", name="Edit new-1").click()
    dialog = page.get_by_role("dialog", name="Edit new-1")
    sku = dialog.get_by_label("SKU")
    sku.fill("taken-1")
    dialog.get_by_role("button", name="Save changes").click()
    expect(field_error(dialog, "SKU")).to_have_text("SKU is already used by TAKEN-1 (Already here). Open TAKEN-1")
    link = field_error(dialog, "SKU").get_by_role("link", name="Open TAKEN-1")
    assert link.get_attribute("href") == f"/?sku={taken['sku']}#products"
    expect(sku).to_have_attribute("aria-invalid", "true")
    expect(sku).to_be_focused()

    sku.fill("NEW-1B")
    dialog.get_by_label("Active").uncheck()
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    expect(row(page, "NEW-1B")).to_contain_text("Inactive")

    # Delete with its confirmation; cancelling first keeps the product.
    row(page, "NEW-1B").get_by_role("button", name="Delete NEW-1B").click()
    confirm = page.get_by_role("dialog", name="Delete product")
    expect(confirm).to_contain_text("Delete NEW-1B (New one)?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(row(page, "NEW-1B")).to_have_count(1)
    row(page, "NEW-1B").get_by_role("button", name="Delete NEW-1B").click()
    page.get_by_role("dialog", name="Delete product").get_by_role("button", name="Delete product").click()
    expect(row(page, "NEW-1B")).to_have_count(0)
    expect(page.locator(".toast").last).to_contain_text("Deleted NEW-1B.")
    with service.api() as api:
        assert api.get("/api/products", params={"sku": "new-1"}).json()["total"] == 0


def test_modal_keeps_focus_inside_and_gives_it_back(page: Page) -> None:
    page.goto("/#products")
    opener = page.get_by_role("button", name="New product").first
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New product")
    expect(dialog.get_by_label("SKU")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('dialog[open]').contains(document.activeElement)")
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.querySelector('dialog[open]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_bulk_delete_needs_the_typed_confirmation(page: Page, service: Service) -> None:
    with service.api() as api:
        for n in range(5):
            api.post("/api/products", json={"sku": f"BULK-{n}", "name": f"Bulk {n}"}).raise_for_status()
        total = api.get("/api/products").json()["total"]
    page.goto("/#products")
    expect(page.locator("#products-count")).to_have_text(f"{total} products")

    page.get_by_role("button", name="Bulk Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Are you sure? This cannot be undone.")
    expect(dialog).to_contain_text(f"All {total} products will be deleted")
    confirm = dialog.get_by_role("button", name="Delete all products")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type DELETE to confirm").fill("delete")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type DELETE to confirm").fill("DELETE")
    expect(confirm).to_be_enabled()
    confirm.click()

    expect(page.locator(".toast").last).to_have_text(re.compile(f"Deleted {total} products"))
    expect(page.get_by_text("No products yet")).to_be_visible()
    expect(page.locator("#products-count")).to_have_text("0 products")
    with service.api() as api:
        assert api.get("/api/products").json()["total"] == 0
