"""The route table covers every route of the app, and a route it does not list is refused."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from fulfil.access.guard import protect
from fulfil.access.table import ROUTE_SCOPES, required_scope
from fulfil.app import create_app
from fulfil.settings import Settings
from tests.support.access import token_headers
from tests.support.live import start_live_server


def app_operations(settings: Settings) -> set[tuple[str, str]]:
    found = set()
    for route in create_app(settings).routes:
        if isinstance(route, Route):
            found |= {(method, route.path_format) for method in route.methods or () if method != "HEAD"}
        else:
            assert isinstance(route, Mount) and route.name == "web", route  # only the static dashboard
    return found


def test_every_route_of_the_app_has_an_entry_and_every_entry_a_route(settings: Settings) -> None:
    operations = app_operations(settings)
    missing = sorted(op for op in operations if required_scope(*op) is None)
    assert missing == [], "add these to fulfil.access.table.ROUTE_SCOPES"
    assert sorted(set(ROUTE_SCOPES) - operations) == []


async def unlisted(request: Request) -> JSONResponse:
    return JSONResponse({"open": True})


async def test_a_route_missing_from_the_table_is_refused_even_to_an_admin(settings: Settings) -> None:
    app = create_app(settings)
    app.router.routes[0:0] = protect([Route("/api/unlisted", unlisted, methods=["GET"])])
    live = await start_live_server(settings, app)
    try:
        headers = await token_headers(live.resources.db)
        async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
            response = await http.get("/api/unlisted")
    finally:
        await live.stop()
    assert response.status_code == 403
    assert "no access rule" in response.json()["error"]["message"]
