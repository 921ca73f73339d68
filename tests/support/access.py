"""Credentials for calling the service: users with a known password, API tokens, signed-in clients.

`issue_token` makes a user of a role and a token with every scope the role allows, on the
service's own pool or (for a service running as a subprocess, a benchmark) on a database URL.
`create_admin` does the same as an operator would, with `fulfil users create` and `fulfil tokens
create`. `browser_client` signs in through POST /api/auth/login and sends what the dashboard
sends on writes (its Origin and the session's X-CSRF-Token).
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
from databases import Database

from fulfil.access import service
from fulfil.access.audit import Actor
from fulfil.access.passwords import hash_password_now
from fulfil.access.roles import role_scopes
from fulfil.db import create_database
from tests.support.live import LiveServer
from tests.support.processes import run_command

TEST_PASSWORD = "a test password, long enough"
_ACTOR = Actor(email="tests")


@functools.cache
def test_password_hash() -> str:
    """TEST_PASSWORD's argon2id hash, computed once per run (each hash takes tens of milliseconds)."""
    return hash_password_now(TEST_PASSWORD)


def new_email(role: str) -> str:
    """An email no earlier call gave, even against a database kept from an earlier run."""
    return f"{role}-{secrets.token_hex(4)}@example.com"


async def new_user(db: Database, role: str = "editor", email: str | None = None) -> dict[str, Any]:
    """A user with `role` and the password TEST_PASSWORD: its id, email and password."""
    email = email or new_email(role)
    user = await service.insert_user(db, email, test_password_hash(), role)
    return {"id": user.id, "email": email, "password": TEST_PASSWORD}


async def issue_token(db: Database | str, role: str = "admin", email: str | None = None) -> str:
    """A new user with `role` (password TEST_PASSWORD) and an API token with every scope of the role.

    `db`: the service's pool, or a database URL (for a service that runs as a subprocess).
    """
    if isinstance(db, str):
        pool = create_database(db, 2)
        await pool.connect()
        try:
            return await issue_token(pool, role, email)
        finally:
            await pool.disconnect()
    user = await new_user(db, role, email)
    created = await service.create_token(db, user["id"], "tests", sorted(role_scopes(role)), None, _ACTOR)
    return created.token


def create_admin(env: dict[str, str], email: str, password: str) -> str:
    """An admin made with `fulfil users create` and an API token from `fulfil tokens create` (printed
    alone on stdout), on the database `env` points the commands at; the token."""
    for args, stdin in [
        (("users", "create", "--email", email, "--role", "admin"), password),
        (("tokens", "create", "--email", email, "--name", "tests"), ""),
    ]:
        done = run_command(*args, env=env, stdin=stdin)
        assert done.returncode == 0, f"fulfil {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


async def token_headers(db: Database | str, role: str = "admin") -> dict[str, str]:
    """The Authorization header of a new `role` user's token (see issue_token)."""
    return bearer(await issue_token(db, role))


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
    """A client of `live` calling with a new `role` user's API token."""
    headers = await token_headers(live.resources.db, role)
    async with httpx.AsyncClient(base_url=live.url, timeout=30, headers=headers) as client:
        yield client
