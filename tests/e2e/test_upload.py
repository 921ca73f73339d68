"""Upload in the browser: the progress bar to the end, rows in the table, rejects, re-attach, cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.e2e.conftest import Service

pytestmark = pytest.mark.e2e


def choose_csv(page: Page, name: str, text: str) -> None:
    csv_file: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    page.locator("#csv-file").set_input_files(files=[csv_file])
    expect(page.locator(".file-row")).to_contain_text(name)
    page.get_by_role("button", name="Import", exact=True).click()


def test_upload_reaches_completed_and_the_rows_appear(page: Page) -> None:
    page.goto("/")
    csv = "name,sku,description\n" + "".join(f"Imported {n},IMP-{n:03},Row {n}\n" for n in range(1, 8))
    choose_csv(page, "seven.csv", csv)

    progress = page.get_by_test_id("import-progress")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=30_000)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(progress).to_contain_text("100%")
    expect(progress).to_contain_text("7 of 7 rows")
    expect(progress.locator("[data-stat=created]")).to_have_text("7")
    expect(progress).to_contain_text("Import complete.")
    expect(page.locator("#import-announcer")).to_contain_text("Import complete.")

    page.get_by_role("link", name="Products").click()
    table = page.get_by_test_id("products-table")
    expect(table).to_contain_text("IMP-007")
    expect(table).to_contain_text("Imported 1")
    page.go_back()
    expect(page.get_by_test_id("import-history").locator("tbody tr").first).to_contain_text("seven.csv")
    expect(page.get_by_test_id("import-history").locator("tbody tr").first).to_contain_text("Completed")

    # The same file again: every row unchanged.
    page.get_by_role("button", name="Import another file").click()
    choose_csv(page, "seven.csv", csv)
    expect(progress.locator("[data-stat=unchanged]")).to_have_text("7", timeout=30_000)


def test_a_bad_row_gives_a_rejects_link(page: Page) -> None:
    page.goto("/")
    csv = "name,sku\nGood one,REJ-1\nNo sku here,\nGood two,REJ-2\n"
    choose_csv(page, "with-a-bad-row.csv", csv)

    progress = page.get_by_test_id("import-progress")
    expect(progress.locator(".badge")).to_have_text("Completed with rejects", timeout=30_000)
    expect(progress.locator("[data-stat=rejected]")).to_have_text("1")
    expect(progress.locator("[data-stat=created]")).to_have_text("2")
    link = progress.get_by_test_id("rejects-link")
    expect(link).to_contain_text("Download the 1 rejected rows (CSV)")
    href = link.get_attribute("href")
    assert href is not None
    response = page.request.get(href)
    assert response.status == 200
    body = response.text()
    assert "No sku here" in body
    assert re.search(r"\b3\b", body), body  # the bad row's line number
    assert "sku" in body.lower()
    expect(page.get_by_test_id("import-history").locator("tbody tr").first.get_by_role("link")).to_have_text("rejects")


def test_a_file_that_is_not_a_csv_fails_in_plain_words_with_try_again(page: Page) -> None:
    page.goto("/")
    choose_csv(page, "no-columns.csv", "colour,size\nred,L\n")
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator(".badge")).to_have_text("Failed", timeout=30_000)
    expect(progress.get_by_role("alert")).to_contain_text("The import failed.")
    expect(progress.get_by_role("alert")).to_contain_text("sku")
    # The same file would fail the same way: "Try again" asks for a corrected one.
    progress.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    expect(page.locator(".upload__body")).to_contain_text("Choose the corrected file to try again.")
    expect(page.locator("#csv-file")).to_be_focused()


def test_a_reload_reattaches_to_the_running_import_which_can_be_cancelled(page: Page, service: Service) -> None:
    rows = 100_000
    csv = "name,sku,description\n" + "".join(f"Long {n},LONG-{n:06},Description {n}\n" for n in range(rows))
    page.goto("/")
    choose_csv(page, "long.csv", csv)
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator(".badge")).to_have_text("Running", timeout=30_000)

    page.reload()
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_contain_text("long.csv")
    expect(progress.locator(".badge")).to_have_text("Running")
    progress.get_by_role("button", name="Cancel").click()
    expect(progress.locator(".badge")).to_have_text("Cancelled", timeout=30_000)
    expect(progress).to_contain_text("Import cancelled.")
    with service.api() as api:
        job = api.get("/api/uploads").json()["items"][0]
    assert job["status"] == "cancelled"
    assert job["rows_done"] < rows


def test_dropping_a_file_on_the_drop_zone_selects_it(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("dropzone").evaluate(
        """(zone) => {
            const data = new DataTransfer();
            data.items.add(new File(["name,sku\\nDropped,DROP-1\\n"], "dropped.csv", { type: "text/csv" }));
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
        }"""
    )
    expect(page.locator(".file-row")).to_contain_text("dropped.csv")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_focused()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_test_id("import-progress").locator(".badge")).to_have_text("Completed", timeout=30_000)
    page.get_by_role("link", name="Products").click()
    expect(page.get_by_test_id("products-table")).to_contain_text("DROP-1")
