"""Browser tests: the real service as a subprocess, a fresh database per module, Debian's chromium.

Run them on their own (`make test-e2e`, i.e. `pytest tests/e2e -p no:asyncio`): sync Playwright
owns an event loop, so it cannot share a run with pytest-asyncio. Nothing here is async: the few
async helpers of `tests/conftest.py` run in a worker thread with their own loop.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.support.access import bearer, create_admin
from tests.support.blocking import run_async
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.support.databases import Servers, drop_database, empty_redis, fresh_database, redis_db_url
from tests.support.processes import serve, service_env
from tests.support.receivers import ThreadedReceiver, threaded_receiver

E2E_DIR = Path(__file__).resolve().parent
_databases = itertools.count()


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
        return httpx.Client(base_url=self.url, timeout=30, headers=bearer(self.token))


@pytest.fixture(scope="module")
def service(servers: Servers, tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Service]:
    """A fresh, empty database migrated by the service itself at start, and an empty Redis db."""
    name = f"fulfil_e2e_{os.getpid()}_{next(_databases)}"
    database_url = run_async(fresh_database(servers.admin_url, name))
    redis_url = redis_db_url(servers.redis_url, int(os.environ.get("TEST_REDIS_DB", "4")))
    run_async(empty_redis(redis_url))
    workdir = tmp_path_factory.mktemp("service")
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
    log = workdir / "service.log"
    # The log goes to a file, so a chatty service can never fill a pipe and stall.
    with log.open("w") as out, serve(env, stdout=out, grace=15) as served:
        token = create_admin(env, ADMIN_EMAIL, ADMIN_PASSWORD)
        state = sign_in(browser, served.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        yield Service(served.url, database_url, redis_url, log, token=token, storage_state=state)
    run_async(empty_redis(redis_url))
    run_async(drop_database(servers.admin_url, name))


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


@pytest.fixture
def receiver() -> Iterator[ThreadedReceiver]:
    """A local webhook receiver that answers 200 and records every POST."""
    with threaded_receiver() as receiver:
        yield receiver
