"""Webhook throughput and the write path: 10,000 product updates per run, one subscribed webhook.

A local aiohttp receiver runs in its own process (`common.receiver_process`) and counts what
arrives. The service runs as `python -m fulfil serve` (API plus in-process worker) on a fresh
database of its own. The runs:

- write floor: the products service's update transaction (select for update, update returning,
  the outbox event, the history entry, commit) straight through asyncpg, from WRITERS
  connections of its own that it holds throughout: what the database allows.
- writes, service: N updates through `fulfil.products.service.update_product` (a pooled
  connection per write, then the relay's nudge) from WRITERS concurrent tasks, no webhook yet.
- HTTP write floor: the same N `PUT`s to the transaction behind a bare uvicorn
  (`bench/write_floor.py`): what HTTP and JSON alone cost here.
- writes, HTTP: N `PUT /api/products/{id}` with an admin token from WRITERS keep-alive
  connections: the service run plus HTTP, middleware, access checks, JSON and validation (the
  client shares the machine's cores with the service and the database).
- live: N updates through the service with the webhook subscribed; deliveries per second from
  the first change to the last receipt (bound by how fast the changes are written: the lag of
  the last receipt is printed too).
- backlog: N updates (`service.record_update`) committed in one transaction, then one nudge;
  deliveries per second from the commit to the last receipt: what the relay and delivery jobs
  can do on their own.

The delivery floor is one aiohttp session posting the same bodies to the same receiver in a
plain loop. Writes are compared with the write floor, deliveries with the delivery floor.

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/webhooks.py [--updates N]

Targets: >= 500 deliveries/s and >= 0.5 x the delivery floor; service and HTTP writes >= 0.7 x
the write floor (the HTTP write floor shows how much of the gap HTTP itself takes on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import aiohttp
import httpx

from common import ADMIN_URL, fresh_redis, receiver_process, receiving_service_env, wait_for_receipts
from fulfil.access.audit import Actor
from fulfil.db import connect_raw, direct_transaction
from fulfil.products import service
from fulfil.products.schemas import ProductUpdate
from fulfil.resources import Resources, open_resources
from fulfil.settings import load_settings
from fulfil.webhooks.outbox import relay_soon
from tests.support.access import token_headers
from tests.support.databases import drop_database, fresh_database
from tests.support.processes import serve
from write_floor import WRITERS, floor_server, update

DB_NAME = "fulfil_bench_webhooks"
REDIS_DB = 12
ROUNDS = 5  # the write floor, service and HTTP runs take turns, a fifth of the products each
SECRET = "bench-secret"


# --- the measurements ------------------------------------------------------------------------


async def floor(receiver: str, bodies: list[bytes]) -> float:
    """Seconds for one aiohttp session to POST every body, one after another."""
    async with aiohttp.ClientSession() as http:
        started = time.time()
        for body in bodies:
            async with http.post(
                f"{receiver}/floor", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                await response.read()
        return time.time() - started


async def write_floor(database_url: str, ids: list[int]) -> float:
    """Seconds for WRITERS asyncpg connections of their own to commit the update transaction of
    each product (the same statements and values as the service's, nothing else)."""

    async def writer(mine: list[int]) -> None:
        conn = await connect_raw(database_url)
        try:
            for product_id in mine:
                await update(conn, product_id, f"Floor {product_id}")
        finally:
            await conn.close()

    started = time.time()
    await asyncio.gather(*(writer(ids[n::WRITERS]) for n in range(WRITERS)))
    return time.time() - started


async def service_updates(resources: Resources, ids: list[int], name: str) -> float:
    """N product updates as the API makes them (one transaction each, then the nudge); returns seconds."""

    async def writer(mine: list[int]) -> None:
        for product_id in mine:
            await service.update_product(resources, product_id, ProductUpdate(name=f"{name} {product_id}"), Actor())

    started = time.time()
    await asyncio.gather(*(writer(ids[n::WRITERS]) for n in range(WRITERS)))
    return time.time() - started


async def http_updates(url: str, headers: dict[str, str], ids: list[int]) -> float:
    """N `PUT /api/products/{id}` from WRITERS keep-alive connections; returns seconds (any
    answer but 200 fails the run)."""
    connector = aiohttp.TCPConnector(limit=WRITERS)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as http:

        async def writer(mine: list[int]) -> None:
            for product_id in mine:
                async with http.put(f"/api/products/{product_id}", json={"name": f"Sent {product_id}"}) as response:
                    if response.status != 200:
                        raise RuntimeError(f"PUT /api/products/{product_id}: {response.status} {await response.text()}")

        started = time.time()
        await asyncio.gather(*(writer(ids[n::WRITERS]) for n in range(WRITERS)))
        return time.time() - started


async def backlog_updates(resources: Resources, ids: list[int]) -> float:
    """N product updates committed in one transaction (as a backlog would pile up), then one nudge; returns
    the commit time."""
    async with direct_transaction(resources.db) as conn:
        for product_id in ids:
            await service.record_update(conn, product_id, ProductUpdate(name=f"Again {product_id}"), Actor())
    committed = time.time()
    await relay_soon(resources)
    return committed


async def all_relayed(database_url: str, within: float) -> None:
    """Wait until the worker has relayed every event so far (with no webhook yet: to nobody)."""
    conn = await connect_raw(database_url)
    try:
        deadline = time.monotonic() + within
        while await conn.fetchval("SELECT count(*) FROM webhook_event WHERE relayed_at IS NULL"):
            if time.monotonic() > deadline:
                raise RuntimeError("the events written before the webhook existed were not relayed")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def run(urls: dict[str, str], updates: int) -> dict[str, float]:
    service, receiver, database_url, redis_url = urls["service"], urls["receiver"], urls["database"], urls["redis"]
    settings = load_settings(
        database_url=database_url, redis_url=redis_url, migrate_on_start=False, db_pool_size=WRITERS + 2
    )
    resources = await open_resources(settings)
    ids = list(range(1, updates + 1))
    headers = await token_headers(resources.db)
    got = {"write_floor": 0.0, "service_writes": 0.0, "http_floor": 0.0, "http_writes": 0.0}
    # In turns, so the machine's other load falls on all four alike; each run starts once the
    # service has relayed the events of the one before (its relay is its own runs' cost only).
    for turn in range(ROUNDS):
        mine = ids[turn::ROUNDS]
        got["write_floor"] += await write_floor(database_url, mine)
        got["service_writes"] += await service_updates(resources, mine, "Written")
        await all_relayed(database_url, within=120)
        got["http_floor"] += await http_updates(urls["http_floor"], {}, mine)
        got["http_writes"] += await http_updates(service, headers, mine)
        await all_relayed(database_url, within=120)
    async with httpx.AsyncClient(base_url=service, headers=headers) as api:
        hook = {"url": f"{receiver}/live", "event_types": ["product.updated"], "secret": SECRET}
        created = (await api.post("/api/webhooks", json=hook)).raise_for_status().json()

        first_change = time.time()
        writes = await service_updates(resources, ids, "Renamed")
        live = await wait_for_receipts(receiver, "live", updates, within=300)

        await api.put(f"/api/webhooks/{created['id']}", json={"url": f"{receiver}/backlog"})
        committed = await backlog_updates(resources, ids)
        backlog = await wait_for_receipts(receiver, "backlog", updates, within=300)
    await resources.close()
    return got | {
        "writes": writes,
        "live_count": live["count"],
        "live_ids": live["ids"],
        "live_seconds": live["last"] - first_change,
        "live_lag": live["last"] - (first_change + writes),
        "backlog_count": backlog["count"],
        "backlog_ids": backlog["ids"],
        "backlog_seconds": backlog["last"] - committed,
    }


async def prepare(updates: int) -> str:
    """A fresh database holding the N products to update; its URL."""
    database_url = await fresh_database(ADMIN_URL, DB_NAME, migrate=True)
    conn = await connect_raw(database_url)
    try:
        await conn.execute(
            "INSERT INTO product (sku, name, description, active) SELECT 'SKU-' || n, 'Product ' || n,"
            " 'A description of product ' || n, true FROM generate_series(1, $1) n",
            updates,
        )
    finally:
        await conn.close()
    return database_url


async def measure(urls: dict[str, str], updates: int) -> dict[str, float]:
    """The runs through the service, then the delivery floor with the bodies it sent."""
    got = await run(urls, updates)
    conn = await connect_raw(urls["database"])
    try:
        sql = "SELECT count(*) FILTER (WHERE status = 'delivered'), sum(attempt_count) FROM webhook_delivery"
        got["delivered"], got["attempts"] = await conn.fetchrow(sql)
        bodies = [r["body"].encode() for r in await conn.fetch("SELECT body FROM webhook_delivery ORDER BY id")]
    finally:
        await conn.close()
    got["floor_seconds"] = await floor(urls["receiver"], bodies[:updates])
    return got


def main(updates: int) -> None:
    urls = {"database": asyncio.run(prepare(updates)), "redis": asyncio.run(fresh_redis(REDIS_DB))}
    try:
        with receiver_process() as receiver, tempfile.TemporaryDirectory() as data_dir:
            env = receiving_service_env(urls["database"], urls["redis"], data_dir)
            with serve(env) as served, floor_server(urls["database"]) as http_floor:
                served_urls = {"receiver": receiver, "service": served.url, "http_floor": http_floor}
                got = asyncio.run(measure({**urls, **served_urls}, updates))
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))
    report(updates, got)


def report(updates: int, got: dict[str, float]) -> None:
    floor_seconds = got["floor_seconds"]
    floor_rate = updates / floor_seconds
    write_floor_rate = updates / got["write_floor"]
    live_rate = got["live_count"] / got["live_seconds"]
    backlog_rate = got["backlog_count"] / got["backlog_seconds"]
    writes = {
        "service": updates / got["service_writes"],
        "HTTP": updates / got["http_writes"],
        "live": updates / got["writes"],
    }
    http_floor_rate = updates / got["http_floor"]
    rows = [
        ("write floor: asyncpg, the same transaction", f"{got['write_floor']:.2f} s", f"{write_floor_rate:.0f}/s"),
        ("writes, service: transaction + nudge each", f"{got['service_writes']:.2f} s", f"{writes['service']:.0f}/s"),
        ("HTTP write floor: bare uvicorn, same transaction", f"{got['http_floor']:.2f} s", f"{http_floor_rate:.0f}/s"),
        ("writes, HTTP: PUT /api/products/{id}", f"{got['http_writes']:.2f} s", f"{writes['HTTP']:.0f}/s"),
        ("live: updates written (service, webhook on)", f"{got['writes']:.2f} s", f"{writes['live']:.0f}/s"),
        ("live: first change -> last receipt", f"{got['live_seconds']:.2f} s", f"{live_rate:.0f}/s"),
        ("live: last receipt after last change", f"{got['live_lag']:.2f} s", ""),
        ("backlog: commit of N events -> last receipt", f"{got['backlog_seconds']:.2f} s", f"{backlog_rate:.0f}/s"),
        ("delivery floor: bare aiohttp loop, same bodies", f"{floor_seconds:.2f} s", f"{floor_rate:.0f}/s"),
        *(
            (f"ratio writes, {run} / write floor", "", f"{rate / write_floor_rate:.2f}x")
            for run, rate in writes.items()
        ),
        ("ratio HTTP write floor / write floor", "", f"{http_floor_rate / write_floor_rate:.2f}x"),
        ("ratio writes, HTTP / HTTP write floor", "", f"{writes['HTTP'] / http_floor_rate:.2f}x"),
        ("ratio live / delivery floor", "", f"{live_rate / floor_rate:.2f}x"),
        ("ratio backlog / delivery floor", "", f"{backlog_rate / floor_rate:.2f}x"),
    ]
    print()
    print(f"webhooks: {updates:,} product updates per run, 1 signed webhook, {WRITERS} writers, receiver in a process")
    print(
        f"received (distinct webhook-ids): live {got['live_count']:,} ({got['live_ids']:,}), "
        f"backlog {got['backlog_count']:,} ({got['backlog_ids']:,}); "
        f"delivered {got['delivered']:,}, attempts {got['attempts']:,}"
    )
    print(f"{'measure':<52}{'time':>10}{'rate':>10}")
    for name, took, rate in rows:
        print(f"{name:<52}{took:>10}{rate:>10}")
    for run, per_second in (("live", live_rate), ("backlog", backlog_rate)):
        met_floor = verdict(per_second >= 0.5 * floor_rate)
        print(f"targets, {run}: >= 500/s {verdict(per_second >= 500)}; >= 0.5x delivery floor {met_floor}")
    print(f"target, service writes: >= 0.7x write floor {verdict(writes['service'] >= 0.7 * write_floor_rate)}")
    print(f"target, HTTP writes: >= 0.7x write floor {verdict(writes['HTTP'] >= 0.7 * write_floor_rate)}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    main(parser.parse_args().updates)
