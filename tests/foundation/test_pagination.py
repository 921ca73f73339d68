"""Every list pages the same way: a page number too large for an OFFSET is a 422 naming `page`."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from fulfil.imports.schemas import HistoryQuery
from fulfil.pagination import PAGE_MAX
from fulfil.products.schemas import ProductQuery
from fulfil.webhooks.schemas import DeliveryQuery, WebhookQuery

LISTS: list[tuple[str, type[BaseModel]]] = [
    ("/api/products", ProductQuery),
    ("/api/uploads", HistoryQuery),
    ("/api/webhooks", WebhookQuery),
    ("/api/webhooks/{id}/deliveries", DeliveryQuery),
]


async def list_path(client: httpx.AsyncClient, path: str) -> str:
    if "{id}" not in path:
        return path
    created = await client.post(
        "/api/webhooks", json={"url": "https://example.com/hook", "event_types": ["product.created"]}
    )
    return path.format(id=created.raise_for_status().json()["id"])


@pytest.mark.parametrize(("path", "query"), LISTS, ids=[path for path, _ in LISTS])
async def test_a_page_past_the_bound_is_a_422_naming_page(
    client: httpx.AsyncClient, path: str, query: type[BaseModel]
) -> None:
    url = await list_path(client, path)
    for page in (str(PAGE_MAX + 1), "1000000000000000000", "9" * 40):
        response = await client.get(url, params={"page": page})
        assert response.status_code == 422, (path, page)
        error = response.json()["error"]
        assert [(d["location"], d["field"]) for d in error["details"]] == [("query", "page")], (path, page)


@pytest.mark.parametrize(("path", "query"), LISTS, ids=[path for path, _ in LISTS])
async def test_the_last_page_at_the_largest_size_is_an_empty_page(
    client: httpx.AsyncClient, path: str, query: type[BaseModel]
) -> None:
    url = await list_path(client, path)
    largest = query.model_json_schema()["properties"]["page_size"]["maximum"]
    response = await client.get(url, params={"page": PAGE_MAX, "page_size": largest})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["items"], body["page"], body["page_size"]) == ([], PAGE_MAX, largest)
