"""Every operation of the OpenAPI document, probed anonymously and with each role's token.

The expectation comes from the route table: anonymous callers get 401 (with WWW-Authenticate)
except on public routes; a role gets 403 exactly when its scopes lack the route's scope.
"""

from __future__ import annotations

import re

import httpx

from fulfil.access.roles import AUTHENTICATED, ROLES, role_scopes
from fulfil.access.table import PUBLIC, required_scope
from tests.support.access import token_client
from tests.support.live import LiveServer

PLACEHOLDER = {"id": "999999", "job_id": "00000000-0000-0000-0000-000000000000", "name": "no-such-profile"}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDER[m.group(1)], path)


async def call(http: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    if method in ("POST", "PUT", "PATCH"):
        return await http.request(method, concrete(path), json={})
    return await http.request(method, concrete(path))


async def test_each_operation_answers_each_caller_as_the_table_says(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as anonymous:
        doc = (await anonymous.get("/openapi.json")).json()
        operations = [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]
        assert len(operations) >= 30
        wrong = []
        for method, path in operations:
            scope = required_scope(method, path)
            assert scope is not None, (method, path)
            declared = doc["paths"][path][method.lower()]
            assert declared["security"] == ([] if scope == PUBLIC else [{"bearerToken": []}, {"sessionCookie": []}])
            if scope == PUBLIC or path == "/api/auth/logout":
                continue
            assert declared["x-required-scope"] == scope
            response = await call(anonymous, method, path)
            if response.status_code != 401 or response.headers.get("www-authenticate") != "Bearer":
                wrong.append(("anonymous", method, path, response.status_code))
            assert response.json()["error"]["code"] == "unauthorized"
    for role in ROLES:
        async with token_client(live_server, role) as client:
            for method, path in operations:
                scope = required_scope(method, path)
                if scope == PUBLIC or path.startswith("/api/auth/"):
                    continue
                allowed = scope == AUTHENTICATED or scope in role_scopes(role)
                status = (await call(client, method, path)).status_code
                if (status == 403) == allowed or status == 401:
                    wrong.append((role, method, path, status))
    assert wrong == []


async def test_roles_include_each_other() -> None:
    assert role_scopes("viewer") == {"products:read", "imports:read"}
    assert role_scopes("editor") == role_scopes("viewer") | {"products:write", "imports:write"}
    assert role_scopes("admin") == role_scopes("editor") | {"webhooks:manage", "admin"}
