"""Browser tests: the real service as a subprocess, a fresh database per module, Debian's chromium.

Run them on their own (`make test-e2e`, i.e. `pytest tests/e2e -p no:asyncio`): sync Playwright
owns an event loop, so it cannot share a run with pytest-asyncio. Nothing here is async: the few
async helpers of `tests/conftest.py` run in a worker thread with their own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright, sync_playwright
from redis import Redis

from tests.conftest import (
    ROOT,
    Received,
    Servers,
    _admin,
    free_port,
    redis_db_url,
    run_service,
    service_env,
    with_database,
)
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, wait_for_health

E2E_DIR = Path(__file__).resolve().parent
_databases = itertools.count()
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a fresh thread (Playwright's loop may own this one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run next to pytest-asyncio rather than break every async test after us."""
    if not config.pluginmanager.hasplugin("asyncio"):
        return
    skip = pytest.mark.skip(reason="browser tests run on their own: pytest tests/e2e -p no:asyncio (make test-e2e)")
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(skip)


ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "an e2e admin password"


@dataclass
class Service:
    """`python -m fulfil serve` on a free port, on its own database and Redis database.

    It has one admin (ADMIN_EMAIL, created with `fulfil users create`), whose API token `api()` uses
    and whose signed-in browser state (`storage_state`, signed in through /login) every page starts with.
    """

    url: str
    database_url: str
    redis_url: str
    log: Path
    token: str = ""
    storage_state: Any = None

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"})


def fulfil_command(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """`python -m fulfil ARGS` to its end; its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "fulfil", *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sign_in(browser: Browser, url: str, email: str, password: str) -> Any:
    """Sign in through the /login page; the browser state (its session cookie) to start pages with."""
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        page.goto("/login?next=/%23products")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/#products")
        return context.storage_state()
    finally:
        context.close()


def copy_lines(stream: IO[str], path: Path) -> None:
    with path.open("w") as out:
        for line in stream:
            out.write(line)
            out.flush()


@pytest.fixture(scope="module")
def service(servers: Servers, tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Service]:
    """A fresh, empty database migrated by the service itself at start, and an empty Redis db."""
    name = f"fulfil_e2e_{os.getpid()}_{next(_databases)}"
    run_async(_admin(servers, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    run_async(_admin(servers, f"CREATE DATABASE {name}"))
    database_url = with_database(servers.admin_url, name)
    redis_url = redis_db_url(servers.redis_url, int(os.environ.get("TEST_REDIS_DB", "4")))
    with Redis.from_url(redis_url) as redis:
        redis.flushdb()
    workdir = tmp_path_factory.mktemp("service")
    port = free_port()
    env = service_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DATA_DIR=workdir / "data",
        UPLOAD_DIR=workdir / "uploads",
        WORKER_IN_PROCESS="true",
        ENVIRONMENT="test",
        LOG_LEVEL="info",
        WEBHOOK_RETRY_BASE_SECONDS="0.2",
        WEBHOOK_RETRY_MAX_SECONDS="2",
        IMPORT_BATCH_ROWS="200",
    )
    url = f"http://127.0.0.1:{port}"
    log = workdir / "service.log"
    with run_service("serve", "--host", "127.0.0.1", "--port", str(port), env=env, cwd=ROOT) as proc:
        # Drain the service's output into a file, so a chatty log can never fill the pipe and stall it.
        drain = threading.Thread(target=copy_lines, args=(proc.stdout, log), daemon=True)
        drain.start()
        try:
            wait_for_health(url, proc)
            fulfil_command(env, "users", "create", "--email", ADMIN_EMAIL, "--role", "admin", stdin=ADMIN_PASSWORD)
            token = fulfil_command(env, "tokens", "create", "--email", ADMIN_EMAIL, "--name", "e2e").strip()
            state = sign_in(browser, url, ADMIN_EMAIL, ADMIN_PASSWORD)
            yield Service(url, database_url, redis_url, log, token=token, storage_state=state)
        finally:
            proc.terminate()
            proc.wait(15)
            drain.join(5)
    with Redis.from_url(redis_url) as redis:
        redis.flushdb()
    run_async(_admin(servers, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, service: Service) -> Iterator[Page]:
    """A fresh browser context at 1440 px; a JavaScript error on the page fails the test."""
    context = browser.new_context(
        base_url=service.url,
        viewport={"width": 1440, "height": 900},
        accept_downloads=True,
        storage_state=service.storage_state,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


def field_error(scope: Locator, label: str) -> Locator:
    """The error line under the control labelled `label` (wired by aria-describedby)."""
    control = scope.get_by_label(label)
    return scope.locator(f"#{control.get_attribute('id')}-error")


@dataclass
class Receiver:
    """A tiny local webhook receiver (stdlib HTTP server in a thread) that records every POST."""

    url: str
    hits: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, within: float = 10) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.hits) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(self.hits)} requests, expected {count}")
            time.sleep(0.05)
        return self.hits


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hits: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(Received(time.time(), self.path, dict(self.headers.items()), body))
            reply = b"received"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # port 0: the server keeps the free port it got
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook", hits=hits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
