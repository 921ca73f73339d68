"""Export through the page: the current view (filters and sort) or the ticked rows, as a download."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Service
from tests.support.browser import axe_violations

pytestmark = pytest.mark.e2e

CATALOGUE = [
    {"sku": "EXP-MUG-BLUE", "name": "Blue mug", "description": "Stoneware, 300 ml"},
    {"sku": "EXP-MUG-RED", "name": "Red mug", "description": '=1+2 "quoted"'},
    {"sku": "EXP-PLATE-BLUE", "name": "Blue plate", "description": "Porcelain\nsecond line", "active": False},
    {"sku": "EXP-CUP-GREEN", "name": "Green cup", "description": None},
]


@pytest.fixture(scope="module", autouse=True)
def catalogue(service: Service) -> Iterator[None]:
    with service.api() as api:
        for product in CATALOGUE:
            api.post("/api/products", json=product).raise_for_status()
    yield


def row(page: Page, sku: str) -> Locator:
    return page.locator("[data-testid=products-table] tbody tr").filter(has=page.locator(".col-sku", has_text=sku))


def download_rows(page: Page, choose: str | None = None, format_label: str | None = None) -> list[list[str]]:
    """Open Export, pick what and which format, download: the file's rows."""
    page.get_by_role("button", name="Export").click()
    dialog = page.get_by_role("dialog", name="Export products")
    if choose:
        dialog.get_by_label(choose).check()
    if format_label:
        dialog.get_by_label(format_label).check()
    with page.expect_download() as info:
        dialog.get_by_role("link", name="Download").click()
    expect(dialog).to_be_hidden()
    download = info.value
    assert download.suggested_filename.startswith("products-")
    path = Path(download.path())
    with path.open(newline="", encoding="utf-8-sig") as file:
        return list(csv.reader(file))


def test_export_the_filtered_sorted_view(page: Page) -> None:
    page.goto("/?name=blue&sort=-sku#products")
    expect(page.locator("[data-testid=products-table] tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Export").click()
    dialog = page.get_by_role("dialog", name="Export products")
    expect(dialog).to_contain_text("name: “blue”")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Cancel").click()

    assert download_rows(page) == [
        ["sku", "name", "description", "active"],
        ["EXP-PLATE-BLUE", "Blue plate", "Porcelain\nsecond line", "false"],
        ["EXP-MUG-BLUE", "Blue mug", "Stoneware, 300 ml", "true"],
    ]


def test_export_the_selected_rows_for_a_spreadsheet_at_375_px(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/?sort=sku#products")
    for sku in ("EXP-MUG-RED", "EXP-CUP-GREEN"):
        row(page, sku).locator("input[data-select]").check()
    page.get_by_role("button", name="Export").click()
    dialog = page.get_by_role("dialog", name="Export products")
    expect(dialog.get_by_label("The 2 selected")).to_be_checked()
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Cancel").click()

    assert download_rows(page, format_label="CSV for a spreadsheet") == [
        ["sku", "name", "description", "active"],
        ["EXP-CUP-GREEN", "Green cup", "", "true"],
        ["EXP-MUG-RED", "Red mug", '\'=1+2 "quoted"', "true"],
    ]
    assert len(download_rows(page, choose="The whole view")) == 1 + len(CATALOGUE)
