"""Preview before importing, map a file with foreign headers, choose a mode: all through the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.e2e.conftest import Service
from tests.support.browser import axe_violations

pytestmark = pytest.mark.e2e


def choose(page: Page, name: str, text: str) -> None:
    csv_file: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    page.locator("#csv-file").set_input_files(files=[csv_file])
    expect(page.locator(".file-row")).to_contain_text(name)


def finished(page: Page, badge: str) -> None:
    expect(page.get_by_test_id("import-progress").locator(".badge")).to_have_text(badge, timeout=30_000)


def test_a_preview_shows_its_counts_changes_and_rejects_then_imports_them(page: Page, service: Service) -> None:
    page.goto("/")
    choose(page, "catalogue.csv", "sku,name\n" + "".join(f"PRE-{n},Stored {n}\n" for n in range(1, 6)))
    page.get_by_role("button", name="Import", exact=True).click()
    finished(page, "Completed")
    page.get_by_role("button", name="Import another file").click()

    changed = "sku,name\nPRE-1,Renamed one\nPRE-2,Stored 2\nPRE-9,Brand new\n,No sku\n"
    choose(page, "changes.csv", changed)
    page.get_by_role("button", name="Preview").click()
    result = page.get_by_test_id("preview-result")
    expect(result).to_contain_text("nothing has been written yet", timeout=30_000)
    expect(result).to_contain_text("1 to create, 1 to update, 1 unchanged")
    expect(result).to_contain_text("1 rejected")
    changes = page.get_by_test_id("preview-changes")
    expect(changes.locator("tbody tr")).to_have_count(2)
    expect(changes).to_contain_text("PRE-1")
    expect(changes.locator("del")).to_have_text("Stored 1")
    expect(changes.locator("tbody tr").filter(has_text="PRE-1").locator("ins")).to_have_text("Renamed one")
    expect(page.get_by_test_id("preview-rejects")).to_contain_text("sku is required")
    with service.api() as api:
        stored = api.get("/api/products", params={"sku": "PRE-1"}).json()["items"]
    assert [p["name"] for p in stored if p["sku"] == "PRE-1"] == ["Stored 1"], "a preview writes nothing"
    assert axe_violations(page) == []

    page.get_by_role("button", name="Import these 2 changes").click()
    finished(page, "Completed with rejects")
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator("[data-stat=created]")).to_have_text("1")
    expect(progress.locator("[data-stat=updated]")).to_have_text("1")
    expect(page.get_by_test_id("import-history").locator("tbody tr").nth(1)).to_contain_text("preview, imported")


def test_a_file_with_foreign_headers_is_mapped_saved_as_a_profile_and_imported(page: Page, service: Service) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/")
    choose(page, "supplier.csv", "Item No.,Title,Notes\nMAP-1,Mapped one,first\nMAP-2,Mapped two,second\n")
    page.get_by_role("button", name="Import", exact=True).click()
    finished(page, "Failed")
    form = page.get_by_test_id("mapping-form")
    expect(form.get_by_test_id("mapping-sample")).to_contain_text("Mapped two")
    expect(form.get_by_label("SKU")).to_have_value("Item No.")
    expect(form.get_by_label("Name")).to_have_value("Title")
    form.get_by_label("Description").select_option("Notes")
    form.get_by_label("Save as profile (optional)").fill("Supplier files")
    assert axe_violations(page) == []
    form.get_by_role("button", name="Import with this mapping").click()
    finished(page, "Completed")
    expect(page.get_by_test_id("import-progress").locator("[data-stat=created]")).to_have_text("2")
    with service.api() as api:
        profiles = api.get("/api/import-profiles").json()["profiles"]
        products = api.get("/api/products", params={"sku": "MAP-"}).json()["items"]
    assert [(p["name"], p["mapping"]) for p in profiles] == [
        ("Supplier files", {"sku": "Item No.", "name": "Title", "description": "Notes"})
    ]
    assert sorted((p["sku"], p["description"]) for p in products) == [("MAP-1", "first"), ("MAP-2", "second")]

    # The saved profile reads the next file from the same supplier.
    page.get_by_role("button", name="Import another file").click()
    choose(page, "supplier-2.csv", "Item No.,Title,Notes\nMAP-3,Mapped three,third\n")
    page.get_by_label("Columns").select_option("Supplier files")
    page.get_by_role("button", name="Import", exact=True).click()
    finished(page, "Completed")
    expect(page.get_by_test_id("import-progress").locator("[data-stat=created]")).to_have_text("1")


def test_create_only_skips_the_stored_skus(page: Page) -> None:
    page.goto("/")
    choose(page, "first.csv", "sku,name\nMODE-1,Kept\n")
    page.get_by_role("button", name="Import", exact=True).click()
    finished(page, "Completed")
    page.get_by_role("button", name="Import another file").click()
    choose(page, "second.csv", "sku,name\nMODE-1,Overwritten\nMODE-2,Added\n")
    page.get_by_label("Existing SKUs").select_option("create_only")
    page.get_by_role("button", name="Import", exact=True).click()
    finished(page, "Completed")
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator("[data-stat=created]")).to_have_text("1")
    expect(progress.locator("[data-stat=skipped]")).to_have_text("1")
    expect(page.get_by_test_id("import-history").locator("tbody tr").first).to_contain_text("create only")
