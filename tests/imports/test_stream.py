"""Live progress over SSE against a real server: order, Last-Event-ID, heartbeats, one subscription."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import psutil
import pytest
from redis.asyncio import Redis

from fulfil.imports import routes
from fulfil.imports.progress import CHANNEL
from fulfil.state import app_state
from tests.support.imports import BATCH_ROWS, SNAPSHOT_FIELDS, csv_bytes, upload, wait_final, wait_rows_done
from tests.support.live import LiveServer
from tests.support.sse import Stream, read_stream
from tests.support.waiting import eventually


def many_rows(count: int) -> bytes:
    return csv_bytes([[f"ST-{i}", f"Stream {i}", "d"] for i in range(count)])


async def test_stream_sends_snapshots_in_order_and_closes_after_the_final_one(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, many_rows(3000)))["job_id"]
    stream = await read_stream(client, job_id)
    events, ids = stream.events, stream.ids
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
    first_batch = [s for _, s in events if s["rows_done"] == BATCH_ROWS]
    assert all(s["rows_per_second"] is None and s["eta_seconds"] is None for s in first_batch), "no rate yet"
    assert final["rows_per_second"] > 0


async def test_last_event_id_resumes_after_what_the_client_has_seen(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, many_rows(5000)))["job_id"]
    seen = (await read_stream(client, job_id, stop_after=2)).ids[-1]
    rest = await read_stream(client, job_id, last_event_id=seen)
    assert rest.events, "the stream continues"
    assert all(event_id > seen for event_id in rest.ids)
    final_id, final = rest.events[-1]
    assert final["status"] == "completed"

    again = await client.get(f"/api/upload/{job_id}/stream", headers={"Last-Event-ID": str(final_id)})
    assert (again.status_code, again.content) == (204, b""), "204 tells EventSource the stream is over"
    latest = await read_stream(client, job_id, last_event_id=final_id - 1)
    assert latest.ids == [final_id]


async def subscriptions_of_this_process(redis: Redis) -> int:
    """Redis connections from this process (the live server runs in it) that hold a subscription.

    Over TCP a connection is ours when its address is one of this process's sockets (other suites
    may share the server). A unix socket carries no such address: that is the embedded Redis this
    run started, so every subscriber counts.
    """
    ours = {f"{c.laddr.ip}:{c.laddr.port}" for c in psutil.Process().net_connections("tcp") if c.raddr}
    subscribers = [c for c in await redis.client_list() if int(c["sub"]) + int(c["psub"]) > 0]
    return sum(1 for c in subscribers if c["addr"] in ours or c["addr"].startswith("/"))


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
    streams = [Stream() for _ in range(3)]
    readers = [asyncio.create_task(read_stream(client, job_id, into=stream)) for stream in streams]
    # Heartbeats keep each connection alive while nothing changes.
    await eventually(lambda: all(len(stream.comments) >= 2 for stream in streams))
    assert len(app_state(live_server.app).hub.watchers[job_id]) == 3

    async def one_subscription() -> bool:  # an earlier test's server may still be closing its own
        return await subscriptions_of_this_process(redis) == 1

    await eventually(one_subscription, what="the streams share the process's one subscription")

    await redis.publish(CHANNEL, "not a snapshot")  # ignored; the subscription carries on
    response = await client.post(f"/api/upload/{job_id}/cancel")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["phase"]) == ("cancelled", "cancelled")
    for stream in await asyncio.gather(*readers):
        assert [snapshot["status"] for _, snapshot in stream.events] == ["queued", "cancelled"]
    event = await db.fetchval(
        "SELECT payload->'data'->>'status' FROM webhook_event WHERE event_type = 'import.completed'"
    )
    assert event == "cancelled"
    assert (await client.post(f"/api/upload/{job_id}/cancel")).status_code == 409


async def test_cancel_stops_a_running_import_and_keeps_what_is_committed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    job_id = (await upload(client, many_rows(10_000)))["job_id"]
    await wait_rows_done(client, job_id, 1)
    response = await client.post(f"/api/upload/{job_id}/cancel")
    assert response.status_code == 202
    final = await wait_final(client, job_id)
    assert final["status"] == "cancelled"
    assert 0 < final["rows_done"] < 10_000
    assert final["rows_total"] is None, "the file was not read to its end: the progress shows where it stopped"
    assert final["bytes_done"] < final["bytes_total"]
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


async def test_a_last_event_id_that_is_no_number_starts_from_the_snapshot(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, many_rows(10)))["job_id"]
    await wait_final(client, job_id)
    for nonsense in ("²".encode(), b"9" * 5000, b"abc"):  # bytes: httpx takes str headers as ASCII only
        reply = await client.get(f"/api/upload/{job_id}/stream", headers=[(b"Last-Event-ID", nonsense)])
        assert reply.status_code == 200, nonsense
        assert '"completed"' in reply.text
