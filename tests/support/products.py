"""The products API called as a client would, and the outbox rows its changes leave."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx


async def create(client: httpx.AsyncClient, sku: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """POST one product (name defaults to "Product SKU"); fails the test unless it is created."""
    response = await client.post("/api/products", json={"sku": sku, "name": name or f"Product {sku}", **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def events(db: asyncpg.Connection) -> list[tuple[str, dict[str, Any]]]:
    """The outbox rows, oldest first: (event_type, payload)."""
    rows = await db.fetch("SELECT event_type, payload FROM webhook_event ORDER BY id")
    return [(row["event_type"], json.loads(row["payload"])) for row in rows]
