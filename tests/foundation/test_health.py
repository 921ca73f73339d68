"""The service's health endpoint and its JSON error shape."""

import httpx
from redis.asyncio import Redis

from tests.support.live import LiveServer


async def test_healthz_reports_every_part_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "worker": True,
    }
    assert body["worker_mode"] == "in-process"


async def test_healthz_is_503_naming_redis_when_redis_is_down(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    resources = live_server.resources
    working = resources.redis
    resources.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        response = await client.get("/healthz")
    finally:
        await resources.redis.aclose()
        resources.redis = working
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False
    assert "redis" in body["message"]
    assert body["checks"]["database"]["ok"] is True


async def test_healthz_names_a_stopped_worker(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    await live_server.stop_worker()
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["message"] == "down: worker"
    live_server.start_worker()
    assert (await client.get("/healthz")).status_code == 200


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No route matches /api/nothing-here", "details": []}
    }


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
