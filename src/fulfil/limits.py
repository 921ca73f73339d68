"""Limits that keep slow or numerous clients from holding the service.

uvicorn bounds the time between requests on a kept-alive connection (`timeout_keep_alive`), the
size of an unfinished request head (h11 only) and, with `limit_concurrency`, the connections and
requests it serves at once (a 503 past it). It has no deadline for a request's head to arrive
(a fresh connection that sends nothing, or half a header line a minute, is kept for ever) and none
for a body that trickles in. So:

- `HeaderDeadlineProtocol`, uvicorn's httptools protocol with one timer: a request head must be
  complete within HEADER_TIMEOUT_SECONDS of the connection opening or of the previous response
  ending, or the connection gets a 408 and is closed.
- `BodyDeadline`, an ASGI middleware timing the body: each BODY_IDLE_TIMEOUT_SECONDS the request
  spends waiting for body bytes must bring at least BODY_MIN_BYTES_PER_SECOND per second, or the
  request ends with a 408 (so a body sent a byte a second is cut off, not only a silent one).
- `UploadSlots`: at most MAX_CONCURRENT_UPLOADS uploads stream in at once per process; one more is
  a 503 with Retry-After, before any of its body is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fulfil.errors import ApiError
from fulfil.settings import Settings
from fulfil.state import app_state

UPLOAD_RETRY_AFTER_SECONDS = 5
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose request head does not arrive in time.

    The timer runs while the connection has no request in hand: from the moment it opens, and again
    from the end of each response. Set `header_timeout` on a subclass (see `http_protocol`).
    """

    header_timeout: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        waiting_after = self.cycle  # a new request replaces the cycle: its head arrived
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_late, waiting_after)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_late(self, waiting_after: object) -> None:
        self._header_deadline = None
        if self.cycle is not waiting_after or self.transport.is_closing():
            return
        self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


def http_protocol(settings: Settings) -> type[HeaderDeadlineProtocol]:
    """The protocol class uvicorn serves with, its head deadline taken from the settings."""
    return type("HttpProtocol", (HeaderDeadlineProtocol,), {"header_timeout": settings.header_timeout_seconds})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every uvicorn the service runs on is given (`fulfil serve`, and the tests' live server)."""
    return {
        "http": http_protocol(settings),
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": 5,
    }


class BodyTooSlow(ApiError):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            408,
            f"The request body arrived too slowly (under {settings.body_min_bytes_per_second} bytes a second "
            f"over {settings.body_idle_timeout_seconds:g} s); the request was cut off.",
            code="request_timeout",
            headers={"Connection": "close"},
        )


class BodyDeadline:
    """ASGI middleware: a request body must keep arriving (see the module's docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._timed(receive), send)

    def _timed(self, receive: Receive) -> Receive:
        window = self.settings.body_idle_timeout_seconds
        least = self.settings.body_min_bytes_per_second * window
        waited, got = 0.0, 0  # waiting time and bytes of the current window
        ended = False  # the whole body is in: what follows (a disconnect) may take as long as it likes

        async def timed_receive() -> Message:
            nonlocal waited, got, ended
            if ended:
                return await receive()
            while True:
                started = time.monotonic()
                try:
                    message = await asyncio.wait_for(receive(), max(window - waited, 0.001))
                except TimeoutError:
                    message = None
                waited += time.monotonic() - started
                if message is not None and message["type"] == "http.request":
                    got += len(message.get("body", b""))
                    ended = not message.get("more_body", False)
                if waited >= window and not ended:
                    if got < least:
                        raise BodyTooSlow(self.settings)
                    waited, got = 0.0, 0
                if message is not None:
                    return message

        return timed_receive


class UploadSlots:
    """How many uploads this process is receiving, against its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        if self.busy >= self.limit:
            raise ApiError(
                503,
                f"This server is already receiving {self.limit} uploads, its limit; try again in a few seconds.",
                code="busy",
                headers={"Retry-After": str(UPLOAD_RETRY_AFTER_SECONDS)},
            )
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1


def one_upload_slot(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Run the upload endpoint only while one of the process's upload slots is free."""

    @functools.wraps(endpoint)
    async def limited(request: Request) -> Response:
        with app_state(request.app).upload_slots.claim():
            return await endpoint(request)

    return limited
