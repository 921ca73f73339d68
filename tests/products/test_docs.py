"""The OpenAPI document is built from the app's routes; /docs and /redoc work with no internet."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from fulfil.api import ApiRoute
from fulfil.app import create_app
from fulfil.settings import Settings
from tests.support.live import start_live_server

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
FONT_SERVICES = ("fonts.googleapis.com", "fonts.gstatic.com", "use.typekit.net", "fonts.bunny.net")


async def test_openapi_describes_the_products_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"]
    paths = doc["paths"]
    assert set(paths["/api/products"]) == {"get", "post"}
    assert set(paths["/api/products/{id}"]) == {"get", "put", "delete"}
    assert set(paths["/api/products/bulk"]) == {"delete"}
    assert list(paths).index("/api/products/bulk") < list(paths).index("/api/products/{id}")

    listing = paths["/api/products"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {
        "sku",
        "name",
        "description",
        "q",
        "active",
        "sort",
        "page",
        "page_size",
        "after",
        "before",
        "last",
    }
    assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert "-created_at" in params["sort"]["schema"]["enum"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProductList"
    }
    create = paths["/api/products"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProductCreate")
    assert {"201", "400", "409", "422"} <= set(create["responses"])
    assert create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert set(paths["/api/products/{id}"]["delete"]["responses"]) == {"204", "401", "403", "404"}
    for bulk in ("/api/products/bulk-delete", "/api/products/bulk-update"):
        replies = paths[bulk]["post"]["responses"]
        assert replies["202"]["content"] == replies["200"]["content"], "a job: 202 with the same reply"
    assert set(paths["/api/products/bulk-jobs/{job_id}"]["get"]["responses"]) == {"200", "401", "403", "404"}
    assert paths["/api/products/{id}"]["get"]["parameters"][0]["in"] == "path"

    schemas = doc["components"]["schemas"]
    assert schemas["Product"]["required"] == ["id", "sku", "name", "description", "active", "created_at", "updated_at"]
    assert schemas["ProductCreate"]["required"] == ["sku", "name"]
    assert "{0,98}" in schemas["ProductCreate"]["properties"]["sku"]["pattern"]  # 1 to 100 characters, trimmed
    assert schemas["ProductUpdate"]["properties"]["name"]["type"] == "string"  # may be left out, never null
    assert "required" not in schemas["ProductUpdate"]
    bulk = paths["/api/products/bulk"]["delete"]["parameters"]
    assert bulk == [
        {
            "name": "confirm",
            "in": "query",
            "required": True,
            "description": "Must be true: every product is deleted",
            "schema": {"type": "boolean", "const": True},
        }
    ]
    assert paths["/api/products/{id}"]["get"]["parameters"][0]["schema"]["type"] == "integer"
    operation_ids = [op["operationId"] for path in paths.values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))


class Echo(BaseModel):
    said: str


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"said": "hi"})


async def test_every_api_route_of_the_app_is_described(settings: Settings) -> None:
    """Routes other domains add show up without touching openapi.py."""
    app = create_app(settings)
    app.router.routes.insert(
        0, ApiRoute("/api/echo/{word:int}", echo, methods=["POST"], summary="Echo", tag="Extra", response=Echo)
    )
    live = await start_live_server(settings, app)
    try:
        async with httpx.AsyncClient(base_url=live.url) as http:
            doc = (await http.get("/openapi.json")).json()
    finally:
        await live.stop()
    operation = doc["paths"]["/api/echo/{word}"]["post"]
    assert operation["tags"] == ["Extra"] and operation["summary"] == "Echo"
    assert operation["parameters"] == [{"name": "word", "in": "path", "required": True, "schema": {"type": "integer"}}]
    assert "Echo" in doc["components"]["schemas"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_nothing_outside(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html and "//" not in re.sub(r"^\s*//.*$", "", html, flags=re.MULTILINE)
    assets = ASSET.findall(html)
    assert assets and all(a.startswith("/") for a in assets)
    assert "/openapi.json" in html
    for asset in assets:
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 10_000 or not asset.startswith("/vendor/"), asset
        text = loaded.text
        assert not any(service in text for service in FONT_SERVICES), asset
        if asset.endswith(".css"):
            assert all(url.startswith("data:") for url in CSS_URL.findall(text)), asset


async def test_swagger_ui_does_not_call_the_online_validator(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    assert '<script src="/docs.js"' in html
    assert "validatorUrl: null" in (await client.get("/docs.js")).text
