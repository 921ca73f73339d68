"""A crash inside a route is logged with its traceback and answered without one."""

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
