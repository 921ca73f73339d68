"""A real webhook receiver: an aiohttp server on a free port that records every request.

Its answers are scripted per test: `receiver.replies` is a queue of (status, body, headers)
used in order, then `receiver.default`; `receiver.delay` makes it sleep before answering.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.conftest import free_port


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    replies: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    default: tuple[int, str, dict[str, str]] = (200, "ok", {})
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(time.time(), request.path, dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, text, headers = self.replies.pop(0) if self.replies else self.default
        return web.Response(status=status, text=text, headers=headers)

    async def wait_for(self, count: int, within: float = 10) -> list[Received]:
        """Wait until at least `count` requests arrived; fail the test after `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(self.received)} requests, expected {count}")
            await asyncio.sleep(0.05)
        return self.received


async def start_receiver() -> tuple[Receiver, web.AppRunner]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hook")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return receiver, runner


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver, runner = await start_receiver()
    yield receiver
    await runner.cleanup()


async def eventually(check: Callable[[], Any], within: float = 10, every: float = 0.1) -> Any:
    """Await `check()` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s (last: {result!r})")
        await asyncio.sleep(every)


async def create_webhook(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ["product.created", "product.updated", "product.deleted"], **fields}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(client: httpx.AsyncClient, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
