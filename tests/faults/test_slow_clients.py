"""Slow clients cannot hold the service: request heads and bodies have deadlines, connections and uploads caps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from fulfil.settings import Settings
from fulfil.state import app_state
from tests.support.access import issue_token, token_headers
from tests.support.live import LiveServer, start_live_server
from tests.support.raw_http import RawConnection, connect, status_of, upload_head
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 1.0
BODY_WINDOW = 1.0
CSV = {"content-type": "text/csv"}
PARTIAL_HEAD = b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: te"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "header_timeout_seconds": HEADER_TIMEOUT,
            "body_idle_timeout_seconds": BODY_WINDOW,
            "body_min_bytes_per_second": 100,
            "max_connections": 50,
            "max_concurrent_uploads": 2,
        }
    )


async def open_slow(live: LiveServer, count: int, head: bytes = PARTIAL_HEAD) -> list[RawConnection]:
    connections = [await connect(live.url) for _ in range(count)]
    for conn in connections:
        await conn.send(head)
    return connections


async def test_connections_that_never_finish_their_head_are_closed_with_a_408(
    live_server: LiveServer, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    slow = await open_slow(live_server, 30) + await open_slow(live_server, 10, head=b"")  # half a head, or nothing
    try:
        assert (await client.get("/healthz")).status_code == 200  # served meanwhile
        replies = await asyncio.gather(*(conn.read_until_closed(within=HEADER_TIMEOUT + 5) for conn in slow))
    finally:
        await asyncio.gather(*(conn.close() for conn in slow))
    elapsed = time.monotonic() - started
    assert [status_of(reply) for reply in replies] == [408] * 40
    assert HEADER_TIMEOUT <= elapsed <= HEADER_TIMEOUT + 5
    print(f"40 slow connections all closed {elapsed:.1f} s after they opened")


async def test_past_the_connection_cap_requests_get_a_503_until_slow_connections_are_cut(
    settings: Settings,
) -> None:
    live = await start_live_server(settings.model_copy(update={"max_connections": 10, "header_timeout_seconds": 2}))
    try:
        slow = await open_slow(live, 10)
        async with httpx.AsyncClient(
            base_url=live.url, timeout=10, headers=await token_headers(live.resources.db)
        ) as client:
            response = await client.get("/healthz")
            assert response.status_code == 503
            await eventually(
                lambda: healthz_status(client, 200),
                within=2 + 5,
                every=0.25,
                what="served again once the slow heads are cut",
            )
        await asyncio.gather(*(conn.close() for conn in slow))
    finally:
        await live.stop()


async def healthz_status(client: httpx.AsyncClient, status: int) -> bool:
    return (await client.get("/healthz")).status_code == status


async def trickle(conn: RawConnection, stop: asyncio.Event) -> None:
    """Send one byte every 0.1 s (10 bytes a second) until told to stop or the server hangs up."""
    while not stop.is_set():
        try:
            await conn.send(b"x")
        except (ConnectionError, OSError):
            return
        await asyncio.sleep(0.1)


@pytest.fixture
async def trickling(live_server: LiveServer) -> AsyncIterator[tuple[RawConnection, asyncio.Event]]:
    conn = await connect(live_server.url)
    stop = asyncio.Event()
    await conn.send(upload_head(100_000, await issue_token(live_server.resources.db)) + b"sku,name\n")
    task = asyncio.create_task(trickle(conn, stop))
    yield conn, stop
    stop.set()
    await task
    await conn.close()


async def test_an_upload_trickling_a_few_bytes_a_second_is_cut_off_with_a_408(
    trickling: tuple[RawConnection, asyncio.Event], client: httpx.AsyncClient
) -> None:
    conn, _ = trickling
    started = time.monotonic()
    reply = await conn.read_until_closed(within=BODY_WINDOW * 2 + 5)
    elapsed = time.monotonic() - started
    assert status_of(reply) == 408, reply
    assert b"too slowly" in reply
    assert elapsed <= BODY_WINDOW * 2 + 5
    jobs = (await client.get("/api/uploads")).json()
    assert jobs["total"] == 0, "nothing was recorded for the cut-off upload"


async def test_past_the_upload_cap_an_upload_gets_a_503_with_retry_after(
    settings: Settings,
) -> None:
    live = await start_live_server(settings.model_copy(update={"body_idle_timeout_seconds": 60}))
    try:
        holding = [await connect(live.url) for _ in range(2)]
        token = await issue_token(live.resources.db)
        for conn in holding:
            await conn.send(upload_head(20, token) + b"sku,name\n")  # the rest never comes
        async with httpx.AsyncClient(
            base_url=live.url, timeout=10, headers=await token_headers(live.resources.db)
        ) as client:
            await eventually(lambda: busy(live) == 2, what="two uploads in progress")
            response = await client.post("/api/upload", content=b"sku,name\nA,B\n", headers=CSV)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert "uploads" in response.json()["error"]["message"]
            await holding[0].send(b"S-1,Name\n\n\n")  # completes the first: its slot frees
            assert status_of(await holding[0].reader.readuntil(b"\r\n")) == 202
            await eventually(lambda: busy(live) == 1)
            response = await client.post("/api/upload", content=b"sku,name\nA,B\n", headers=CSV)
            assert response.status_code == 202, response.text
        for conn in holding:
            await conn.close()
    finally:
        await live.stop()


def busy(live: LiveServer) -> int:
    return app_state(live.app).upload_slots.busy
