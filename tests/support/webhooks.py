"""The webhooks API called as a client would."""

from __future__ import annotations

from typing import Any

import httpx


async def create_webhook(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    """A webhook for `url` subscribed to the product events unless `fields` say otherwise."""
    body = {"url": url, "event_types": ["product.created", "product.updated", "product.deleted"], **fields}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(client: httpx.AsyncClient, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
    """One page of the webhook's deliveries (newest first), filtered by `params`."""
    response = await client.get(f"/api/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
