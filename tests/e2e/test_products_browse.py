"""Products in the browser: filters, search, sort by header, pagination, state kept in the URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from fulfil.db import connect_raw
from tests.e2e.conftest import Service
from tests.support.blocking import run_async

pytestmark = pytest.mark.e2e

CATALOGUE = [
    {"sku": "MUG-BLUE", "name": "Blue mug", "description": "Stoneware, 300 ml"},
    {"sku": "MUG-RED", "name": "Red mug", "description": "Stoneware, 300 ml"},
    {"sku": "PLATE-BLUE", "name": "Blue plate", "description": "Porcelain", "active": False},
    {"sku": "CUP-GREEN", "name": "Green cup", "description": "Ceramic espresso cup"},
]


@pytest.fixture(scope="module", autouse=True)
def catalogue(service: Service) -> Iterator[None]:
    with service.api() as api:
        for product in CATALOGUE:
            api.post("/api/products", json=product).raise_for_status()
    yield


def sku_cells(page: Page) -> Locator:
    return page.locator("[data-testid=products-table] tbody .col-sku")


def test_filters_narrow_the_table_and_survive_a_reload(page: Page) -> None:
    page.goto("/#products")
    rows = page.locator("[data-testid=products-table] tbody tr")
    expect(rows).to_have_count(4)

    page.get_by_label("Name").fill("blue")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"name=blue"))

    page.get_by_label("Active").select_option("false")
    expect(sku_cells(page)).to_have_text(["PLATE-BLUE"])
    expect(page.locator("#products-count")).to_have_text("1 product matches the filters")

    page.reload()
    expect(page.get_by_label("Name")).to_have_value("blue")
    expect(page.get_by_label("Active")).to_have_value("false")
    expect(rows).to_have_count(1)

    page.get_by_role("button", name="Clear filters").first.click()
    expect(rows).to_have_count(4)
    page.get_by_label("Search").fill("green")  # SKU or name; descriptions have their own filter
    expect(sku_cells(page)).to_have_text(["CUP-GREEN"])
    page.get_by_label("Search").fill("espresso")
    expect(page.get_by_text("No products match these filters")).to_be_visible()
    page.get_by_label("Search").fill("")
    page.get_by_label("SKU", exact=True).fill("mug-")
    expect(rows).to_have_count(2)
    page.get_by_label("SKU", exact=True).fill("")
    page.get_by_label("Description").fill("porcelain")
    expect(sku_cells(page)).to_have_text(["PLATE-BLUE"])
    page.get_by_label("Description").fill("nothing like this")
    expect(page.get_by_text("No products match these filters")).to_be_visible()


def test_sort_by_header_toggles_direction_and_is_in_the_url(page: Page) -> None:
    page.goto("/#products")
    expect(page.locator("[data-testid=products-table] tbody tr")).to_have_count(4)
    sku_header = page.locator("th").filter(has=page.locator("[data-sort=sku]"))

    page.locator("[data-sort=sku]").click()
    expect(sku_header).to_have_attribute("aria-sort", "ascending")
    expect(sku_cells(page)).to_have_text(["CUP-GREEN", "MUG-BLUE", "MUG-RED", "PLATE-BLUE"])
    expect(page).to_have_url(re.compile(r"sort=sku"))

    page.locator("[data-sort=sku]").click()
    expect(sku_header).to_have_attribute("aria-sort", "descending")
    expect(sku_cells(page)).to_have_text(["PLATE-BLUE", "MUG-RED", "MUG-BLUE", "CUP-GREEN"])
    expect(page).to_have_url(re.compile(r"sort=-sku"))

    page.locator("[data-sort=name]").click()
    expect(sku_cells(page)).to_have_text(["MUG-BLUE", "PLATE-BLUE", "CUP-GREEN", "MUG-RED"])
    page.locator("[data-sort=description]").click()
    expect(sku_cells(page)).to_have_text(["CUP-GREEN", "PLATE-BLUE", "MUG-BLUE", "MUG-RED"])
    page.locator("[data-sort=active]").click()
    expect(sku_cells(page)).to_have_text(["PLATE-BLUE", "MUG-BLUE", "MUG-RED", "CUP-GREEN"])  # inactive first
    page.locator("[data-sort=updated_at]").click()
    expect(page).to_have_url(re.compile(r"sort=updated_at"))


def test_on_a_phone_the_sort_control_sorts_by_any_column(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/#products")
    expect(page.locator("[data-testid=products-table] thead")).to_be_hidden()  # rows stack: no headers
    sort = page.get_by_label("Sort")
    expect(sort).to_be_visible()
    sort.select_option("-description")
    expect(sku_cells(page)).to_have_text(["MUG-RED", "MUG-BLUE", "PLATE-BLUE", "CUP-GREEN"])
    sort.select_option("-active")
    expect(sku_cells(page).last).to_have_text("PLATE-BLUE")
    expect(page).to_have_url(re.compile(r"sort=-active"))


@pytest.fixture
def twelve_more(service: Service) -> Iterator[None]:
    """12 products beside the catalogue for this test only, so the other tests see the 4 they expect."""
    with service.api() as api:
        created = [api.post("/api/products", json={"sku": f"PAGE-{n:02}", "name": f"Paged {n}"}) for n in range(12)]
        ids = [response.raise_for_status().json()["id"] for response in created]
    yield
    with service.api() as api:
        for product_id in ids:
            api.delete(f"/api/products/{product_id}").raise_for_status()


@pytest.mark.usefixtures("twelve_more")
def test_pagination_shows_page_x_of_y_and_follows_the_page_size(page: Page) -> None:
    page.goto("/?sort=sku#products")
    rows = page.locator("[data-testid=products-table] tbody tr")
    page.get_by_label("Rows per page").select_option("10")
    expect(page.locator("#products-page")).to_have_text("Page 1 of 2")
    expect(rows).to_have_count(10)
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()

    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#products-page")).to_have_text("Page 2 of 2")
    expect(rows).to_have_count(6)
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    page.go_back()
    expect(page.locator("#products-page")).to_have_text("Page 1 of 2")
    page.get_by_label("Rows per page").select_option("25")
    expect(page.locator("#products-page")).to_have_text("Page 1 of 1")
    expect(rows).to_have_count(16)


async def _execute(database_url: str, statement: str) -> None:
    conn = await connect_raw(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def no_trigram_index(service: Service) -> Iterator[None]:
    """The service as on a server without pg_trgm (the embedded one): no trigram index on names."""
    run_async(_execute(service.database_url, "DROP INDEX product_name_trgm_idx"))
    yield
    run_async(
        _execute(service.database_url, "CREATE INDEX product_name_trgm_idx ON product USING gin (name gin_trgm_ops)")
    )


def test_the_search_hint_says_whether_searches_are_indexed(page: Page) -> None:
    page.goto("/#products")
    hint = page.locator("#search-hint")
    expect(hint).to_have_text("Matches anywhere in the SKU or name; an exact SKU comes first.")


@pytest.mark.usefixtures("no_trigram_index")
def test_without_pg_trgm_the_search_hint_says_searches_read_the_table(page: Page) -> None:
    page.goto("/#products")
    expect(page.locator("#search-hint")).to_contain_text("This server has no pg_trgm, so searches read the whole table")
    page.get_by_label("Search").fill("green")
    expect(sku_cells(page)).to_have_text(["CUP-GREEN"])
