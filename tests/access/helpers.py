"""Signing in as the dashboard does: the session cookie, plus the CSRF token and Origin its writes send."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from databases import Database

from fulfil.access import service
from tests.conftest import TEST_PASSWORD, LiveServer, issue_token, test_password_hash


async def new_user(db: Database, role: str = "editor", email: str | None = None) -> dict[str, Any]:
    email = email or f"{role}-user@example.com"
    user = await service.insert_user(db, email, test_password_hash(), role)
    return {"id": user.id, "email": email, "password": TEST_PASSWORD}


@contextlib.asynccontextmanager
async def browser_client(
    live: LiveServer, email: str, password: str = TEST_PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in through POST /api/auth/login that sends what the dashboard sends on writes."""
    async with httpx.AsyncClient(base_url=live.url, timeout=30, headers={"Origin": live.url}) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        yield client


@contextlib.asynccontextmanager
async def token_client(live: LiveServer, role: str) -> AsyncIterator[httpx.AsyncClient]:
    token = await issue_token(live.resources.db, role)
    async with httpx.AsyncClient(base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
