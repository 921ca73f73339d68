"""Users and tokens: scopes within the role, revocation, password change and disabling, the
last admin, secrets never stored as typed, the sign-in limit, and the audit log."""

from __future__ import annotations

import asyncpg
import httpx
from redis.asyncio import Redis

from fulfil.access.ratelimit import EMAIL_LIMIT, SignInLimiter, limit_keys
from tests.support.access import TEST_PASSWORD, browser_client, new_user
from tests.support.live import LiveServer
from tests.support.ports import free_port

PRODUCT = {"sku": "SKU-1", "name": "Product"}


async def test_a_token_gets_at_most_its_role_and_loses_what_its_owner_loses(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    editor = await new_user(live_server.resources.db, "editor")
    async with browser_client(live_server, editor["email"]) as session:
        too_much = await session.post("/api/tokens", json={"name": "x", "scopes": ["webhooks:manage"]})
        assert too_much.status_code == 403 and "webhooks:manage" in too_much.json()["error"]["message"]
        created = await session.post("/api/tokens", json={"name": "script"})
        assert created.status_code == 201
        token = created.json()
        assert token["scopes"] == ["imports:read", "imports:write", "products:read", "products:write"]
        assert token["token"].startswith("fk_") and token["prefix"] == token["token"][:9]
        assert "token" not in (await session.get("/api/tokens")).json()["items"][0]
    bearer = {"Authorization": f"Bearer {token['token']}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=bearer) as http:
        assert (await http.post("/api/products", json=PRODUCT)).status_code == 201
        assert (await client.put(f"/api/users/{editor['id']}", json={"role": "viewer"})).status_code == 200
        assert (await http.post("/api/products", json={"sku": "SKU-2", "name": "P"})).status_code == 403
        assert (await http.get("/api/products")).status_code == 200
        me = (await http.get("/api/auth/me")).json()
        assert me["via"] == "token" and me["csrf_token"] is None and "products:write" not in me["scopes"]


async def test_revoking_a_token_stops_it_at_once(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    created = (await client.post("/api/tokens", json={"name": "short-lived"})).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=bearer) as http:
        assert (await http.get("/api/products")).status_code == 200
        assert (await client.delete(f"/api/tokens/{created['id']}")).status_code == 204
        response = await http.get("/api/products")
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]
    assert (await client.delete(f"/api/tokens/{created['id']}")).status_code == 404


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    created = (await client.post("/api/tokens", json={"name": "t", "expires_at": "2999-01-01T00:00:00Z"})).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=bearer) as http:
        assert (await http.get("/api/products")).status_code == 200
        await db.execute("UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1", created["id"])
        assert (await http.get("/api/products")).status_code == 401
    naive = await client.post("/api/tokens", json={"name": "t", "expires_at": "2999-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_a_new_password_or_disabling_ends_every_session_and_token(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    for change in ({"password": "another long password"}, {"disabled": True}):
        user = await new_user(
            live_server.resources.db, "editor", f"user-{len(change)}-{next(iter(change))}@example.com"
        )
        async with browser_client(live_server, user["email"]) as session:
            token = (await session.post("/api/tokens", json={"name": "t"})).json()["token"]
            assert (await client.put(f"/api/users/{user['id']}", json=change)).status_code == 200
            assert (await session.get("/api/products")).status_code == 401
        async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
            assert (await http.get("/api/products")).status_code == 401


async def test_the_last_enabled_admin_stays_one(client: httpx.AsyncClient) -> None:
    me = (await client.get("/api/auth/me")).json()
    for change in ({"role": "editor"}, {"disabled": True}):
        response = await client.put(f"/api/users/{me['id']}", json=change)
        assert response.status_code == 409 and "last enabled admin" in response.json()["error"]["message"]
    other = await client.post("/api/users", json={"email": "b@example.com", "password": TEST_PASSWORD, "role": "admin"})
    assert other.status_code == 201
    assert (
        await client.post("/api/users", json={"email": "B@example.com", "password": TEST_PASSWORD, "role": "admin"})
    ).status_code == 409
    assert (await client.put(f"/api/users/{me['id']}", json={"role": "editor"})).status_code == 200


async def test_passwords_tokens_and_session_ids_are_never_stored_as_typed(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    password = "a password to look for"
    await client.post("/api/users", json={"email": "look@example.com", "password": password, "role": "viewer"})
    token = (await client.post("/api/tokens", json={"name": "t"})).json()["token"]
    async with browser_client(live_server, "look@example.com", password) as session:
        cookie = session.cookies["fulfil_session"]
    rows = []
    for table in ("app_user", "api_token", "user_session", "audit_event"):
        rows += [str(dict(row)) for row in await db.fetch(f"SELECT * FROM {table}")]
    dump = "\n".join(rows)
    for secret in (password, token, token.removeprefix("fk_"), cookie):
        assert secret not in dump
    stored = await db.fetchval("SELECT password_hash FROM app_user WHERE email = 'look@example.com'")
    assert stored.startswith("$argon2id$")


async def test_five_failures_for_one_email_are_a_429_until_the_window_passes(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await new_user(live_server.resources.db)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        for _ in range(EMAIL_LIMIT):
            assert (
                await http.post("/api/auth/login", json={"email": user["email"], "password": "wrong"})
            ).status_code == 401
        limited = await http.post("/api/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        assert limited.status_code == 429
        assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
        other = await new_user(live_server.resources.db, "viewer")
        assert (
            await http.post("/api/auth/login", json={"email": other["email"], "password": TEST_PASSWORD})
        ).status_code == 200
        await redis.delete(*[key for key, _ in limit_keys(user["email"], None)])
        assert (
            await http.post("/api/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        ).status_code == 200


async def test_without_redis_the_limit_is_kept_in_the_process() -> None:
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    limiter, keys = SignInLimiter(), limit_keys("a@example.com", "10.0.0.1")
    try:
        for _ in range(EMAIL_LIMIT - 1):
            await limiter.failed(nowhere, keys)
        assert await limiter.retry_after(nowhere, keys) is None
        await limiter.failed(nowhere, keys)
        assert 0 < (await limiter.retry_after(nowhere, keys) or 0) <= 15 * 60
        await limiter.succeeded(nowhere, keys)
        assert await limiter.retry_after(nowhere, keys) is None
    finally:
        await nowhere.aclose()


async def test_the_audit_log_records_who_did_what(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    user = await new_user(live_server.resources.db, "admin", "auditor@example.com")
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        await http.post("/api/auth/login", json={"email": user["email"], "password": "wrong"})
    async with browser_client(live_server, user["email"]) as session:
        assert (await session.delete("/api/products/bulk", params={"confirm": "true"})).status_code == 200
        await session.post("/api/auth/logout")
    hook = (
        await client.post("/api/webhooks", json={"url": "http://example.com/h", "event_types": ["product.created"]})
    ).json()
    await client.delete(f"/api/webhooks/{hook['id']}")
    entries = (await client.get("/api/audit", params={"actor": "AUDITOR@example.com"})).json()
    actions = [e["action"] for e in entries["items"]]
    assert actions == ["auth.signout", "products.bulk_deleted", "auth.signin"]
    assert entries["items"][1]["details"] == {"deleted": 0} and entries["items"][1]["address"] == "127.0.0.1"
    failed = (await client.get("/api/audit", params={"action": "auth.signin_failed"})).json()["items"]
    assert [(e["actor"], e["target"]) for e in failed] == [(None, "auditor@example.com")]
    hooks = (await client.get("/api/audit", params={"action": "webhook.deleted"})).json()["items"]
    assert hooks[0]["actor_token_id"] is not None
    since = (await client.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"})).json()
    assert since["total"] == 0 and since["items"] == []
