"""`fulfil users|tokens` as real processes, and the first-admin setup link `fulfil serve` logs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from tests.support.live import LiveServer
from tests.support.ports import free_port
from tests.support.processes import run_command, run_service, service_env
from tests.support.waiting import wait_for_health


def fulfil(database_url: str, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = service_env(DATABASE_URL=database_url, DATA_DIR=tmp_path / "data")
    return run_command(*args, env=env, stdin=stdin)


async def test_users_and_tokens_from_the_command_line(
    live_server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    password = "a command line password"
    created = fulfil(
        database_url, tmp_path, "users", "create", "--email", "ops@example.com", "--role", "editor", stdin=password
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""
    again = fulfil(
        database_url, tmp_path, "users", "create", "--email", "OPS@example.com", "--role", "admin", stdin=password
    )
    assert again.returncode == 1 and "already has an account" in again.stderr
    short = fulfil(
        database_url, tmp_path, "users", "create", "--email", "x@example.com", "--role", "admin", stdin="short"
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr

    issued = fulfil(
        database_url,
        tmp_path,
        "tokens",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "ci",
        "--scope",
        "products:read",
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert re.fullmatch(r"fk_[A-Za-z0-9_-]{43}", token) and issued.stdout == token + "\n"
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        assert (await http.get("/api/products")).status_code == 200
        assert (await http.post("/api/products", json={"sku": "A", "name": "B"})).status_code == 403
        beyond = fulfil(
            database_url, tmp_path, "tokens", "create", "--email", "ops@example.com", "--name", "x", "--scope", "admin"
        )
        assert beyond.returncode == 1 and "admin" in beyond.stderr

        new_password = fulfil(
            database_url, tmp_path, "users", "set-password", "--email", "ops@example.com", stdin="another long one"
        )
        assert new_password.returncode == 0, new_password.stderr
        assert (await http.get("/api/products")).status_code == 401, "a new password revokes the tokens"
        login = {"email": "ops@example.com", "password": "another long one"}
        assert (await http.post("/api/auth/login", json=login, headers={"Authorization": ""})).status_code == 200

    disabled = fulfil(database_url, tmp_path, "users", "disable", "--email", "ops@example.com")
    assert disabled.returncode == 0, disabled.stderr
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        assert (await http.post("/api/auth/login", json=login)).status_code == 401


async def test_the_setup_link_creates_the_first_admin_once(database_url: str, redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(
        PORT=port, HOST="127.0.0.1", DATABASE_URL=database_url, REDIS_URL=redis_url, DATA_DIR=tmp_path / "data"
    )
    links = []
    for _ in range(2):  # the same link at each start until it is used
        with run_service("serve", env=env) as proc:
            await wait_for_health(url, proc)
            proc.terminate()
            output, _ = proc.communicate(timeout=15)
        found = re.findall(r"open (http://\S+/setup\?token=(\S+)) to create the first admin", output)
        assert len(found) == 1, output
        links.append(found[0])
    assert links[0] == links[1]
    link, token = links[0]
    assert link.startswith(f"{url}/setup?token=")

    with run_service("serve", env=env) as proc:
        await wait_for_health(url, proc)
        async with httpx.AsyncClient(base_url=url, headers={"Origin": url}) as http:
            page = await http.get("/setup", params={"token": token})
            assert page.status_code == 200 and 'src="/js/setup.js"' in page.text
            account = {"email": "first@example.com", "password": "the first admin's password"}
            wrong = await http.post("/api/auth/setup", json={**account, "token": "guessed"})
            assert wrong.status_code == 403
            done = await http.post("/api/auth/setup", json={**account, "token": token})
            assert done.status_code == 201, done.text
            assert done.json()["role"] == "admin" and "fulfil_session" in http.cookies
            assert (await http.get("/api/users")).status_code == 200
            http.cookies.clear()
            reused = await http.post("/api/auth/setup", json={**account, "email": "second@example.com", "token": token})
            assert reused.status_code == 403
        proc.terminate()
        proc.wait(15)
    with run_service("serve", env=env) as proc:
        await wait_for_health(url, proc)
        proc.terminate()
        output, _ = proc.communicate(timeout=15)
    assert "/setup?token=" not in output, "an admin exists: no link"
