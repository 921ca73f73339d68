"""A crash inside a route is logged and answered without a traceback; hostile input is a 4xx saying what is wrong."""

import logging

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

from fulfil.app import create_app
from fulfil.settings import Settings
from tests.support.live import start_live_server


async def boom(request: Request) -> None:
    raise RuntimeError("secret internals: password=hunter2")


async def test_unhandled_error_is_a_500_without_traceback(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings)
    app.router.routes.insert(0, Route("/boom", boom))
    live = await start_live_server(settings, app)
    try:
        with caplog.at_level(logging.ERROR, logger="fulfil.errors"):
            async with httpx.AsyncClient(base_url=live.url) as http:
                response = await http.get("/boom")
    finally:
        await live.stop()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert "hunter2" in caplog.text


JSON = {"Content-Type": "application/json"}  # any other type is a 415 before the body is read


def nested(depth: int) -> bytes:
    return b'{"sku": ' + b"[" * depth + b"]" * depth + b', "name": "n"}'


@pytest.mark.parametrize("path", ["/api/products", "/api/webhooks"])
@pytest.mark.parametrize("depth", [50_000, 100_000, 900, 40])
async def test_a_body_nested_too_deep_is_a_400(client: httpx.AsyncClient, path: str, depth: int) -> None:
    """Past the parser's recursion limit (50,000 deep) and under it (900, 40): the same 400."""
    response = await client.post(path, content=nested(depth), headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == "The request body nests arrays and objects more than 32 levels deep."


async def test_a_body_nested_within_the_limit_reaches_validation(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/products", content=nested(31), headers=JSON)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "sku"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"sku": 1' + b"0" * 5000 + b"}", "holds an integer of more than 4,300 digits"),
        (b'{"sku": "a", "name": NaN}', "holds NaN, which is not JSON"),
        (b'{"sku": "a", "name": -Infinity}', "holds -Infinity, which is not JSON"),
        (b'{"sku": "a", "name": "b", "sku": "c"}', "names 'sku' twice in one object"),
        (b'{"sku": "a", "name": "b", "x": {"k": 1, "k": 2}}', "names 'k' twice in one object"),
        (b'{"sku": "\\ud800", "name": "n"}', "half of a surrogate pair"),
        (bytes(range(256)), "is not valid JSON"),
        (b'{"sku": "a\x00b", "name": "n"}', "is not valid JSON at line 1, column 11"),
    ],
)
async def test_malformed_json_is_a_400_saying_how(client: httpx.AsyncClient, body: bytes, message: str) -> None:
    for path in ("/api/products", "/api/webhooks"):
        response = await client.post(path, content=body, headers=JSON)
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"sku": "s" * 1_000_000, "name": "n"},
        {"sku": "a\u0000b", "name": "n"},
        {"sku": "a", "name": "n", "active": "yes"},
        {"sku": "a", "name": "n", "active": 1.0},
        {"sku": ["a"], "name": {"n": 1}},
        {"sku": 12, "name": 1.5},
    ],
)
async def test_wrong_values_are_a_422(client: httpx.AsyncClient, fields: dict[str, object]) -> None:
    response = await client.post("/api/products", json=fields)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] in fields


@pytest.mark.parametrize(
    "fields",
    [
        {"timeout": 1.5},
        {"timeout": 10**400},
        {"retry_count": 10**30},
        {"event_types": []},
        {"event_types": "product.created"},
        {"enabled": None},
        {"secret": "a\u0000"},
        {"url": "http://host\u0085.example/"},
    ],
)
async def test_wrong_webhook_values_are_a_422(client: httpx.AsyncClient, fields: dict[str, object]) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["product.created"], **fields}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == next(iter(fields))


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/products", "GET, HEAD, POST"),
        ("PATCH", "/api/products/1", "DELETE, GET, HEAD, PUT"),
        ("OPTIONS", "/api/products/bulk", "DELETE"),
        ("GET", "/api/webhooks/1/test", "POST"),
        ("PUT", "/api/webhooks/deliveries/1/resend", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("POST", "/index.html", "GET, HEAD"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"] == {
        "code": "method_not_allowed",
        "message": f"{method} is not allowed on {path}; it takes {allow}",
        "details": [],
    }


@pytest.mark.parametrize("segment", ["abc", "1a", "%C2%B2", "-1", "1" * 5000, str(2**63)])
async def test_an_id_that_is_no_bigint_is_a_404(client: httpx.AsyncClient, segment: str) -> None:
    for path in (f"/api/products/{segment}", f"/api/webhooks/{segment}"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "field", "message"),
    [
        (
            "POST",
            "/api/webhooks",
            {"url": "https://e.com", "event_types": ["product.created"], "timeout": 0},
            None,
            "timeout",
            "timeout must be at least 1",
        ),
        (
            "POST",
            "/api/webhooks",
            {"url": "https://e.com", "event_types": ["product.created"], "retry_count": 99},
            None,
            "retry_count",
            "retry_count must be at most 20",
        ),
        (
            "POST",
            "/api/products",
            {"sku": "A", "name": "B", "colour": "red"},
            None,
            "colour",
            "colour is not a field this request takes",
        ),
        ("POST", "/api/products", {"name": "B"}, None, "sku", "sku is required"),
        ("GET", "/api/products", None, {"page_size": "lots"}, "page_size", "page_size must be a whole number"),
    ],
)
async def test_a_422_says_what_is_wrong_in_our_words_not_pydantics(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: object,
    params: dict[str, str] | None,
    field: str,
    message: str,
) -> None:
    """Every message names its field first, as the service's own rules do; none is pydantic's text."""
    response = await client.request(method, path, json=body, params=params)
    assert response.status_code == 422, response.text
    details = {detail["field"]: detail["message"] for detail in response.json()["error"]["details"]}
    assert details[field] == message
    assert "Input should" not in response.text and "Field required" not in response.text
