"""Webhook receivers that record every request: one on aiohttp for async tests, one threaded.

`Receiver` runs in the test's event loop; its answers are scripted per test: `replies` is a queue
of (status, body, headers) used in order, then `default`; `delay` makes it sleep before answering,
and `hold()` keeps every request open, unanswered, until `release()`. `ThreadedReceiver` is a
stdlib server in a thread for blocking code (the browser tests, scripts); `answer(path)` gives
its (status, body) per request.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp import web

from tests.support.ports import bound_socket
from tests.support.waiting import eventually, eventually_blocking


@dataclass
class Received:
    """One request as a webhook receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An aiohttp receiver in the test's loop; `url` ends in /hook."""

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
        await eventually(lambda: len(self.received) >= count, within, what=f"{count} requests received")
        return self.received


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    """A `Receiver` listening on a free port until the block ends (held requests are released first)."""
    sock = bound_socket()
    receiver = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield receiver
    finally:
        receiver.release()
        await runner.cleanup()


def answer_ok(path: str) -> tuple[int, bytes]:
    return 200, b"received"


@dataclass
class ThreadedReceiver:
    """A stdlib receiver in a thread: it takes a POST to any path under `root`; `url` is one, /hook."""

    root: str
    hits: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.root}/hook"

    def wait_for(self, count: int, within: float = 10) -> list[Received]:
        """Wait until at least `count` POSTs arrived; fail after `within` seconds."""
        eventually_blocking(lambda: len(self.hits) >= count, within, what=f"{count} requests received")
        return self.hits


@contextmanager
def threaded_receiver(answer: Callable[[str], tuple[int, bytes]] = answer_ok) -> Iterator[ThreadedReceiver]:
    """A `ThreadedReceiver` on a free port until the block ends; `answer(path)` is each POST's reply."""
    hits: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(Received(time.time(), self.path, dict(self.headers.items()), body))
            status, reply = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # port 0: the server keeps the free port it got
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield ThreadedReceiver(root=f"http://127.0.0.1:{server.server_address[1]}", hits=hits)
    finally:
        server.shutdown()
        server.server_close()
