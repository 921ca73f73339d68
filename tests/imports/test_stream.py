"""Live progress over SSE against a real server: order, Last-Event-ID, heartbeats, one subscription."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
from redis.asyncio import Redis

from fulfil.imports import routes
from fulfil.imports.progress import CHANNEL
from tests.conftest import LiveServer
from tests.imports.helpers import csv_bytes, upload, wait_final
from tests.imports.test_upload import SNAPSHOT_FIELDS

Event = tuple[int, dict[str, Any]]


async def read_stream(
    client: httpx.AsyncClient, job_id: str, *, last_event_id: int | None = None, stop_after: int | None = None
) -> tuple[list[Event], list[str]]:
    """The events (id, snapshot) of one stream until the server closes it, and its comment lines."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    events: list[Event] = []
    comments: list[str] = []
    event_id, data = None, None
    async with asyncio.timeout(30), client.stream("GET", f"/api/upload/{job_id}/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                data = json.loads(line[5:].strip())
            elif line == "" and data is not None:
                assert event_id is not None
                events.append((event_id, data))
                event_id, data = None, None
                if stop_after and len(events) >= stop_after:
                    break
    return events, comments


def many_rows(count: int) -> bytes:
    return csv_bytes([[f"ST-{i}", f"Stream {i}", "d"] for i in range(count)])


async def test_stream_sends_snapshots_in_order_and_closes_after_the_final_one(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, many_rows(3000)))["job_id"]
    events, _ = await read_stream(client, job_id)
    ids = [event_id for event_id, _ in events]
    assert len(events) >= 3
    assert ids == sorted(set(ids)), "event ids increase"
    assert all(set(snapshot) == SNAPSHOT_FIELDS for _, snapshot in events)
    assert [snapshot["version"] for _, snapshot in events] == ids
    done = [snapshot["rows_done"] for _, snapshot in events]
    assert done == sorted(done)
    assert [s["status"] for _, s in events[:-1]].count("completed") == 0
    final = events[-1][1]
    assert (final["status"], final["rows_done"], final["created"]) == ("completed", 3000, 3000)
    assert any(s["status"] == "running" and 0 < s["rows_done"] < 3000 for _, s in events), "progress in between"


async def test_last_event_id_resumes_after_what_the_client_has_seen(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, many_rows(5000)))["job_id"]
    first, _ = await read_stream(client, job_id, stop_after=2)
    seen = first[-1][0]
    rest, _ = await read_stream(client, job_id, last_event_id=seen)
    assert rest, "the stream continues"
    assert all(event_id > seen for event_id, _ in rest)
    assert rest[-1][1]["status"] == "completed"

    final_id = rest[-1][0]
    again = await client.get(f"/api/upload/{job_id}/stream", headers={"Last-Event-ID": str(final_id)})
    assert (again.status_code, again.content) == (204, b""), "204 tells EventSource the stream is over"
    latest, _ = await read_stream(client, job_id, last_event_id=final_id - 1)
    assert [event_id for event_id, _ in latest] == [final_id]


async def subscriptions_of_this_process(redis: Redis) -> int:
    """Redis connections from this process (the live server runs in it) that hold a subscription."""
    ours = {f"{c.laddr.ip}:{c.laddr.port}" for c in psutil.Process().net_connections("tcp") if c.raddr}
    clients = await redis.client_list()
    return sum(1 for c in clients if c["addr"] in ours and int(c["sub"]) + int(c["psub"]) > 0)


async def test_streams_share_one_subscription_get_heartbeats_and_see_a_cancel(
    client: httpx.AsyncClient,
    live_server: LiveServer,
    db: asyncpg.Connection,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "HEARTBEAT_SECONDS", 0.2)
    job_id = str(uuid.uuid4())  # a queued job no worker has picked up
    await db.execute(
        "INSERT INTO import_job (id, filename, file_path, rejects_path) VALUES ($1, 'q.csv', '/nonexistent', NULL)",
        uuid.UUID(job_id),
    )
    streams = [asyncio.create_task(read_stream(client, job_id)) for _ in range(3)]
    await asyncio.sleep(1.0)
    assert await subscriptions_of_this_process(redis) == 1, "the streams share the process's one subscription"
    assert len(live_server.app.state.import_hub.watchers[job_id]) == 3

    await redis.publish(CHANNEL, "not a snapshot")  # ignored; the subscription carries on
    response = await client.post(f"/api/upload/{job_id}/cancel")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["phase"]) == ("cancelled", "cancelled")
    for events, comments in await asyncio.gather(*streams):
        assert [s["status"] for _, s in events] == ["queued", "cancelled"]
        assert len(comments) >= 2, "heartbeats keep the connection alive while nothing changes"
    event = await db.fetchval(
        "SELECT payload->'data'->>'status' FROM webhook_event WHERE event_type = 'import.completed'"
    )
    assert event == "cancelled"
    assert (await client.post(f"/api/upload/{job_id}/cancel")).status_code == 409


async def test_cancel_stops_a_running_import_and_keeps_what_is_committed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    job_id = (await upload(client, many_rows(10_000)))["job_id"]
    async with asyncio.timeout(20):
        while True:
            if (await client.get(f"/api/upload/{job_id}/progress")).json()["rows_done"] > 0:
                break
            await asyncio.sleep(0.01)
    response = await client.post(f"/api/upload/{job_id}/cancel")
    assert response.status_code == 202
    final = await wait_final(client, job_id)
    assert final["status"] == "cancelled"
    assert 0 < final["rows_done"] < 10_000
    assert await db.fetchval("SELECT count(*) FROM product") == final["created"] == final["rows_done"]


async def test_two_imports_at_once_both_finish_correctly(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    first = csv_bytes([[f"CC-{i}", "from first", "d"] for i in range(0, 1000)])
    second = csv_bytes([[f"cc-{i}", "from second", "d"] for i in range(500, 1500)])
    jobs = await asyncio.gather(upload(client, first, "first.csv"), upload(client, second, "second.csv"))
    a, b = await asyncio.gather(*(wait_final(client, job["job_id"]) for job in jobs))
    assert (a["status"], b["status"]) == ("completed", "completed")
    assert a["created"] + b["created"] == 1500
    assert a["updated"] + b["updated"] == 500, "each shared SKU is created by one import and updated by the other"
    assert await db.fetchval("SELECT count(*) FROM product") == 1500
    names = await db.fetch("SELECT DISTINCT name FROM product WHERE lower(sku) IN ('cc-0', 'cc-1499')")
    assert {r["name"] for r in names} == {"from first", "from second"}
