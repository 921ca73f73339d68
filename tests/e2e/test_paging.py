"""The one pager (ui.js) under a table other than the products': the import history, numbered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Service

pytestmark = pytest.mark.e2e

IMPORTS = 10  # more than the history's page of 8


@pytest.fixture(scope="module", autouse=True)
def imports(service: Service) -> Iterator[None]:
    with service.api() as api:
        for n in range(IMPORTS):
            response = api.post(
                "/api/upload",
                params={"filename": f"paged-{n:02}.csv"},
                content=f"sku,name\nPAGED-{n},Paged {n}\n",
                headers={"Content-Type": "text/csv"},
            )
            assert response.status_code == 202, response.text
    yield


def test_the_import_history_pages_with_the_shared_pager(page: Page) -> None:
    page.goto("/#import")
    history = page.get_by_test_id("import-history")
    card = page.locator(".card").filter(has=history)
    expect(history.locator("tbody tr")).to_have_count(8)
    expect(history.locator("tbody tr").first).to_contain_text("paged-09.csv")
    expect(card.locator(".pager__label")).to_have_text("Page 1 of 2")
    expect(card.get_by_role("button", name="Previous page of the import history")).to_be_disabled()
    card.get_by_role("button", name="Last page of the import history").click()
    expect(card.locator(".pager__label")).to_have_text("Page 2 of 2")
    expect(history.locator("tbody tr")).to_have_count(IMPORTS - 8)
    expect(history.locator("tbody tr").last).to_contain_text("paged-00.csv")
    expect(card.locator(".pager__range")).to_have_text("9\N{EN DASH}10 of 10")
    card.get_by_role("button", name="First page of the import history").click()
    expect(card.locator(".pager__label")).to_have_text("Page 1 of 2")
