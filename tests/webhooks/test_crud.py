"""Managing webhooks: create, read, list, update, delete; validation names the field; the secret stays hidden."""

from __future__ import annotations

import httpx
import pytest

from tests.support.webhooks import create_webhook

SECRET = "s3cr3t-value-never-shown"


async def test_create_applies_defaults_and_hides_the_secret(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client, "https://example.com/hook", secret=SECRET)
    assert created["timeout"] == 30
    assert created["retry_count"] == 3
    assert created["enabled"] is True
    assert created["has_secret"] is True
    assert created["last_delivery_status"] is None
    assert "secret" not in created

    for response in (
        await client.get(f"/api/webhooks/{created['id']}"),
        await client.get("/api/webhooks"),
        await client.put(f"/api/webhooks/{created['id']}", json={"timeout": 5}),
    ):
        assert response.status_code == 200
        assert SECRET not in response.text
        assert '"secret"' not in response.text


async def test_list_pages_and_counts(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create_webhook(client, f"https://example.com/{n}")
    body = (await client.get("/api/webhooks", params={"page_size": 2})).json()
    assert body["total"] == 3
    assert [item["url"] for item in body["items"]] == ["https://example.com/0", "https://example.com/1"]
    second = (await client.get("/api/webhooks", params={"page_size": 2, "page": 2})).json()
    assert [item["url"] for item in second["items"]] == ["https://example.com/2"]


async def test_update_changes_only_the_fields_sent_and_keeps_the_secret(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client, "https://example.com/hook", secret=SECRET, retry_count=5)
    response = await client.put(
        f"/api/webhooks/{created['id']}", json={"enabled": False, "event_types": ["import.completed"]}
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["enabled"] is False
    assert updated["event_types"] == ["import.completed"]
    assert updated["retry_count"] == 5
    assert updated["url"] == "https://example.com/hook"
    assert updated["has_secret"] is True

    cleared = (await client.put(f"/api/webhooks/{created['id']}", json={"secret": None})).json()
    assert cleared["has_secret"] is False


async def test_validation_names_each_bad_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/webhooks",
        json={"url": "ftp://example.com", "event_types": ["product.exploded"], "timeout": 0, "retry_count": 99},
    )
    assert response.status_code == 422
    fields = {d["field"].split(".")[0] for d in response.json()["error"]["details"]}
    assert fields == {"url", "event_types", "timeout", "retry_count"}

    empty = await client.post("/api/webhooks", json={"url": "https://example.com", "event_types": []})
    assert empty.status_code == 422
    assert empty.json()["error"]["details"][0]["field"] == "event_types"

    missing = await client.post("/api/webhooks", json={"event_types": ["product.created"]})
    assert missing.json()["error"]["details"][0]["field"] == "url"

    typo = await client.post("/api/webhooks", json={"url": "https://e.com", "event_types": ["product.created"], "x": 1})
    assert typo.status_code == 422
    assert typo.json()["error"]["details"][0]["field"] == "x"

    created = await create_webhook(client, "https://example.com/hook")
    null_url = await client.put(f"/api/webhooks/{created['id']}", json={"url": None})
    assert null_url.status_code == 422
    assert null_url.json()["error"]["details"][0]["field"] == "url"


async def test_delete_and_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client, "https://example.com/hook")
    assert (await client.delete(f"/api/webhooks/{created['id']}")).status_code == 204
    for method, path in (
        ("GET", f"/api/webhooks/{created['id']}"),
        ("PUT", f"/api/webhooks/{created['id']}"),
        ("DELETE", f"/api/webhooks/{created['id']}"),
        ("GET", f"/api/webhooks/{created['id']}/deliveries"),
        ("POST", f"/api/webhooks/{created['id']}/test"),
        ("POST", "/api/webhooks/deliveries/999/resend"),
    ):
        response = await client.request(method, path, json={"enabled": True} if method == "PUT" else None)
        assert response.status_code == 404, (method, path, response.text)


@pytest.mark.parametrize("url", ["http://.example.com/", "http://a..b/", f"http://{'a' * 64}.com/"])
async def test_a_host_name_with_an_empty_or_long_label_is_a_422(client: httpx.AsyncClient, url: str) -> None:
    response = await client.post("/api/webhooks", json={"url": url, "event_types": ["product.created"]})
    assert response.status_code == 422, response.text
    assert "invalid host name" in response.json()["error"]["message"]


async def test_the_document_states_the_webhook_rules(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    update = schemas["WebhookUpdate"]["properties"]
    assert update["enabled"] == {"title": "Enabled", "type": "boolean"}  # may be left out, never null
    assert update["timeout"]["type"] == "integer" and "anyOf" not in update["timeout"]
    assert schemas["WebhookCreate"]["properties"]["event_types"]["minItems"] == 1
    assert schemas["WebhookCreate"]["properties"]["url"]["pattern"].startswith("^\\s*[hH][tT][tT][pP][sS]?://")
