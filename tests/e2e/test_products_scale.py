"""Products in the browser at a size where counts stop being exact: the last page of a 20,000-match
filter and of the whole table, a selection and a filter acted on with their typed confirmations,
and the progress of a filter action over more than one batch."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Locator, Page, expect

from fulfil.db import connect_raw
from tests.e2e.conftest import Service
from tests.support.blocking import run_async

pytestmark = pytest.mark.e2e


async def _sql(database_url: str, statement: str) -> list[dict[str, object]]:
    conn = await connect_raw(database_url)
    try:
        return [dict(row) for row in await conn.fetch(statement)]
    finally:
        await conn.close()


def sql(service: Service, statement: str) -> list[dict[str, object]]:
    return run_async(_sql(service.database_url, statement))


@pytest.fixture(scope="module", autouse=True)
def catalogue(service: Service) -> Iterator[None]:
    """20,000 widgets and 30 lamps."""
    sql(
        service,
        "INSERT INTO product (sku, name, description) "
        "SELECT 'W-' || lpad(i::text, 5, '0'), 'Widget ' || i, 'A widget' FROM generate_series(1, 20000) i",
    )
    sql(service, "INSERT INTO product (sku, name) SELECT 'L-' || i, 'Lamp ' || i FROM generate_series(1, 30) i")
    sql(service, "ANALYZE product")
    yield


def rows(page: Page) -> Locator:
    return page.locator("[data-testid=products-table] tbody tr")


def test_the_last_page_of_a_20000_match_filter_and_of_the_whole_table(page: Page) -> None:
    page.goto("/?sort=sku&name=widget&page_size=100#products")
    expect(page.locator("#products-count")).to_have_text("more than 1,000 products match the filters")
    page.get_by_role("button", name="Last page").click()
    expect(page.locator("#products-page")).to_have_text("Last page")
    expect(rows(page).last.locator(".col-sku")).to_have_text("W-20000")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows(page).last.locator(".col-sku")).to_have_text("W-19900")
    page.get_by_role("button", name="Next page").click()
    expect(rows(page).last.locator(".col-sku")).to_have_text("W-20000")

    page.goto("/?sort=name&page_size=10#products")
    expect(page.locator("#products-count")).to_have_text(re.compile(r"^about [\d,]+ products$"))
    page.get_by_role("button", name="Last page").click()
    expect(rows(page).last.locator(".col-name")).to_have_text("Widget 20000")  # natural order: 20000 last
    page.get_by_role("button", name="First page").click()
    expect(rows(page).first.locator(".col-name")).to_have_text("Lamp 1")
    expect(rows(page).nth(1).locator(".col-name")).to_have_text("Lamp 2")


def test_sort_control_reaches_every_column(page: Page) -> None:
    page.goto("/?name=lamp#products")
    for value in ["name", "-description", "active", "created_at", "-updated_at", "sku"]:
        page.locator("#sort-select").select_option(value)
        expect(page).to_have_url(re.compile(rf"sort={re.escape(value)}"))
        expect(rows(page)).to_have_count(25)


def test_a_selection_set_inactive_with_a_typed_count(page: Page, service: Service) -> None:
    page.goto("/?name=lamp&sort=sku#products")
    rows(page).nth(0).locator("input[type=checkbox]").check()
    rows(page).nth(1).locator("input[type=checkbox]").check()
    expect(page.locator("#selection-text")).to_have_text("2 selected.")
    page.locator("#selection-bar").get_by_role("button", name="Set inactive").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Set inactive on 2 products")
    confirm = dialog.get_by_role("button", name="Set inactive on 2 products")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type 2 to confirm").fill("2")
    confirm.click()
    expect(page.locator("#selection-bar")).to_be_hidden()
    [event] = sql(service, "SELECT payload FROM webhook_event WHERE event_type = 'product.bulk_updated'")
    assert json.loads(str(event["payload"]))["data"]["count"] == 2


def test_everything_a_filter_matches_deleted_with_a_typed_count(page: Page, service: Service) -> None:
    page.goto("/?name=lamp&page_size=10#products")
    expect(rows(page)).to_have_count(10)  # the page's rows drawn, so "select the page" has rows to select
    page.locator("#select-page").check()
    page.locator("#select-all-matching").click()
    expect(page.locator("#selection-text")).to_have_text("All 30 matching products are selected.")
    page.locator("#delete-selected").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Type 30 to confirm").fill("30")
    dialog.get_by_role("button", name="Delete 30 products").click()
    expect(page.get_by_text("No products match these filters")).to_be_visible()
    assert sql(service, "SELECT count(*) AS n FROM product WHERE name LIKE 'Lamp%'") == [{"n": 0}]
    [event] = sql(service, "SELECT payload FROM webhook_event WHERE event_type = 'product.bulk_deleted'")
    assert json.loads(str(event["payload"]))["data"] == {"count": 30, "filter": {"name": "lamp"}}


@contextmanager
def row_locked(service: Service, sku: str) -> Iterator[None]:
    """The product `sku` held locked (FOR UPDATE) by another session while inside."""
    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await connect_raw(service.database_url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT 1 FROM product WHERE sku = $1 FOR UPDATE", sku)
                locked.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        holding = pool.submit(asyncio.run, hold())
        assert locked.wait(10), "the row was not locked"
        try:
            yield
        finally:
            release.set()
            holding.result()


def test_a_filter_action_over_one_batch_shows_its_progress(page: Page, service: Service) -> None:
    page.goto("/?name=widget&page_size=10#products")
    page.locator("#select-page").check()
    page.locator("#select-all-matching").click()
    # A widget of the second batch held locked: the job commits the first 10,000, then waits.
    with row_locked(service, "W-15000"):
        page.locator("#selection-bar").get_by_role("button", name="Set inactive").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Type 20000 to confirm").fill("20000")
        dialog.get_by_role("button", name="Set inactive on 20,000 products").click()
        progress = page.get_by_role("progressbar", name="Bulk action progress")
        expect(progress).to_be_visible()
        expect(page.locator("#selection-text")).to_have_text("Changing… 10,000 of 20,000 done.")
        expect(progress).to_have_attribute("value", "10000")
    expect(page.get_by_text("Changed 20,000 products.")).to_be_visible()
    expect(progress).to_be_hidden()
    assert sql(service, "SELECT count(*) AS n FROM product WHERE name LIKE 'Widget%' AND active") == [{"n": 0}]
    [event] = sql(
        service, "SELECT payload FROM webhook_event WHERE event_type = 'product.bulk_updated' ORDER BY id DESC LIMIT 1"
    )
    assert json.loads(str(event["payload"]))["data"] == {
        "count": 20000,
        "filter": {"name": "widget"},
        "set": {"active": False},
    }
