"""A real webhook receiver: an aiohttp server on a free port that records every request.

Its answers are scripted per test: `receiver.replies` is a queue of (status, body, headers)
used in order, then `receiver.default`; `receiver.delay` makes it sleep before answering, and
`receiver.hold()` makes it keep every request open, unanswered, until `receiver.release()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.conftest import Received, bound_socket, eventually


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    replies: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    default: tuple[int, str, dict[str, str]] = (200, "ok", {})
    delay: float = 0.0
    answered: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.released.set()

    def hold(self) -> None:
        """Keep each request from now on open, unanswered, until release()."""
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(time.time(), request.path, dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        await self.released.wait()
        status, text, headers = self.replies.pop(0) if self.replies else self.default
        self.answered += 1
        return web.Response(status=status, text=text, headers=headers)

    async def wait_for(self, count: int, within: float = 10) -> list[Received]:
        """Wait until at least `count` requests arrived; fail the test after `within` seconds."""
        await eventually(lambda: len(self.received) >= count, within)
        return self.received


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sock = bound_socket()
    receiver = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield receiver
    receiver.release()
    await runner.cleanup()


async def create_webhook(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ["product.created", "product.updated", "product.deleted"], **fields}
    response = await client.post("/api/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(client: httpx.AsyncClient, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
