"""Sustained load, bounded and local: a few minutes of mixed traffic, then what it left behind.

Everything runs on 127.0.0.1: the service (`python -m fulfil serve`, API plus in-process worker)
on a fresh database of its own seeded with SEED products, a webhook receiver in a process of its
own (`common.receiver_process`) subscribed to every product event, and, in this process:

- CLIENTS API clients (admin tokens, keep-alive) mixing list, search, get, create, update and
  delete (MIX) as fast as the service answers them;
- one upload of a ROWS-row CSV as the load starts, and WATCHERS SSE clients following that
  import's stream to its final event (then opening it again each second, as open dashboards do);
- a sampler reading the service's RSS and open file descriptors, and the database's connections
  to its database, once a second.

Before the load, an idle run sends each endpoint IDLE_REQUESTS requests one at a time: the
floor the loaded percentiles are compared with. After it, every product change answered 2xx
(idle run included) must reach the receiver exactly once: as many deliveries as changes, each
with its own webhook-id. RSS is compared from the end of the warm-up (the first sixth of
the run) to the end; descriptors and connections, which follow the requests of the moment, by the
most the last third of the run held against the most the first third held (descriptors with a
slack of SLACK_FDS for the sockets of the requests of the moment).

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/soak.py [--seconds 180] [--rows 500000]

Targets: no 5xx; RSS growth after the warm-up <= 10%; no growth of descriptors or connections;
every change delivered exactly once; the import completes with every row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil

from common import ADMIN_URL, fresh_redis, percentile, receiver_process, receiving_service_env, wait_for_receipts
from fulfil.db import connect_raw
from fulfil.imports.schemas import FINAL_STATUSES
from tests.support.access import token_headers
from tests.support.databases import drop_database, fresh_database
from tests.support.processes import serve

DB_NAME = "fulfil_bench_soak"
REDIS_DB = 12
SEED = 20_000
IDLE_REQUESTS = 30
MIX = {"list": 30, "search": 15, "get": 25, "create": 12, "update": 12, "delete": 6}
CHANGES = ("create", "update", "delete")
EVENT_TYPES = ["product.created", "product.updated", "product.deleted"]
WORDS = ["steel", "oak", "cotton", "glass", "compact", "classic", "modern", "smart", "heavy", "slim"]
SORTS = ["id", "-id", "name", "-updated_at", "sku"]
SLACK_FDS = 5  # sockets of requests in flight at the moment of a sample


@dataclass
class Tally:
    """What one run's requests saw: latencies per endpoint, answers per status, changes made."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    changes: int = 0  # create, update and delete answered 2xx: one product event each
    failures: Counter[str] = field(default_factory=Counter)  # no answer at all (connection errors)

    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class Api:
    """One client's calls, timed into a Tally; each call that changes a product counts when it succeeds."""

    def __init__(self, http: aiohttp.ClientSession, tally: Tally, name: str, seed_ids: list[int]) -> None:
        self.http, self.tally, self.name, self.seed_ids = http, tally, name, seed_ids
        self.rng = random.Random(name)
        self.own: list[int] = []  # products this client created and has not deleted
        self.made = 0

    async def call(self, endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        try:
            async with self.http.request(method, path, json=body) as response:
                data = await response.json() if response.content_type == "application/json" else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.failures[f"{endpoint}: {type(exc).__name__}"] += 1
            return None
        self.tally.latencies[endpoint].append(time.perf_counter() - started)
        self.tally.statuses[status] += 1
        if status >= 300:
            return None
        if endpoint in CHANGES:
            self.tally.changes += 1
        return data if data is not None else {}

    async def do(self, endpoint: str) -> None:
        rng = self.rng
        if endpoint == "list":
            page, sort = rng.randint(1, 40), rng.choice(SORTS)
            await self.call("list", "GET", f"/api/products?page={page}&page_size=50&sort={sort}")
        elif endpoint == "search":
            await self.call("search", "GET", f"/api/products?q={rng.choice(WORDS)}%20{rng.randint(1, 99)}")
        elif endpoint == "get":
            await self.call("get", "GET", f"/api/products/{rng.choice(self.seed_ids)}")
        elif endpoint == "create" or (endpoint == "delete" and not self.own):
            self.made += 1
            body = {"sku": f"SOAK-{self.name}-{self.made}", "name": f"Soak {rng.choice(WORDS)} {self.made}"}
            created = await self.call("create", "POST", "/api/products", body)
            if created:
                self.own.append(created["id"])
        elif endpoint == "update":
            target = rng.choice(self.own) if self.own and rng.random() < 0.5 else rng.choice(self.seed_ids)
            self.made += 1  # a name no one else writes: every update changes the product
            await self.call("update", "PUT", f"/api/products/{target}", {"name": f"Renamed {self.name} {self.made}"})
        else:
            await self.call("delete", "DELETE", f"/api/products/{self.own.pop(rng.randrange(len(self.own)))}")


async def idle_run(http: aiohttp.ClientSession, seed_ids: list[int]) -> Tally:
    """Each endpoint IDLE_REQUESTS times, one request at a time, on an otherwise idle service."""
    tally = Tally()
    api = Api(http, tally, "idle", seed_ids)
    for endpoint in ("list", "search", "get", "create", "update", "delete"):
        for _ in range(IDLE_REQUESTS):
            await api.do(endpoint)
    return tally


async def client(api: Api, until: float) -> None:
    endpoints, weights = list(MIX), list(MIX.values())
    while time.monotonic() < until:
        await api.do(api.rng.choices(endpoints, weights)[0])


@dataclass
class Watch:
    """The SSE watchers: how many saw the import's final event, and streams opened in all."""

    job_id: asyncio.Future[str]
    saw_final: set[int] = field(default_factory=set)
    opened: int = 0
    refused: Counter[int] = field(default_factory=Counter)


async def watcher(http: aiohttp.ClientSession, watch: Watch, number: int, until: float) -> None:
    job_id = await watch.job_id
    while time.monotonic() < until:
        try:
            async with http.get(f"/api/upload/{job_id}/stream", timeout=aiohttp.ClientTimeout(total=None)) as stream:
                watch.opened += 1
                if stream.status != 200:
                    watch.refused[stream.status] += 1
                async for raw in stream.content:
                    if raw.startswith(b"data:") and any(f'"status":"{s}"'.encode() in raw for s in FINAL_STATUSES):
                        watch.saw_final.add(number)
        except aiohttp.ClientError:
            watch.refused[0] += 1
        await asyncio.sleep(1)


async def csv_chunks(rows: int) -> AsyncIterator[bytes]:
    """The import's file, made as it is sent: sku, name, description; no row repeats a SKU."""
    yield b"sku,name,description\n"
    for start in range(0, rows, 10_000):
        lines = (
            f"IMP-{i:07d},Imported {WORDS[i % len(WORDS)]} {i},A product from the soak's import number {i}\n"
            for i in range(start, min(rows, start + 10_000))
        )
        yield "".join(lines).encode()


async def importer(http: aiohttp.ClientSession, rows: int, watch: Watch) -> dict[str, Any]:
    """Upload the file, hand its job to the watchers, and follow it to the end; its final snapshot."""
    started = time.monotonic()
    headers = {"Content-Type": "text/csv"}
    async with http.post("/api/upload?filename=soak.csv", data=csv_chunks(rows), headers=headers) as response:
        reply = await response.json()
        if response.status != 202:
            raise RuntimeError(f"the upload was refused: {response.status} {reply}")
    watch.job_id.set_result(reply["job_id"])
    while True:
        async with http.get(f"/api/upload/{reply['job_id']}/progress") as response:
            snapshot: dict[str, Any] = await response.json()
        if snapshot["status"] in FINAL_STATUSES:
            return snapshot | {"seconds": time.monotonic() - started}
        await asyncio.sleep(1)


@dataclass
class Sample:
    at: float
    rss: int
    fds: int
    connections: int
    cpu: float  # the service's CPU seconds so far


async def sampler(pid: int, database_url: str, samples: list[Sample], until: float) -> None:
    """The service's RSS and descriptors, and the connections to its database, once a second."""
    process = psutil.Process(pid)
    conn = await connect_raw(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() < until:
            connections = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            at = time.monotonic() - started
            cpu = sum(process.cpu_times()[:2])
            samples.append(Sample(at, process.memory_info().rss, process.num_fds(), connections, cpu))
            await asyncio.sleep(1)
    finally:
        await conn.close()


async def prepare() -> tuple[str, list[int]]:
    """A fresh migrated database holding SEED products; its URL and their ids."""
    database_url = await fresh_database(ADMIN_URL, DB_NAME, migrate=True)
    conn = await connect_raw(database_url)
    try:
        rows = await conn.fetch(
            "INSERT INTO product (sku, name, description, active)"
            " SELECT 'SEED-' || n, initcap(($2::text[])[1 + n % 10]) || ' ' || ($2::text[])[1 + n / 10 % 10]"
            " || ' ' || n, 'A seeded product number ' || n, n % 7 <> 0 FROM generate_series(1, $1) n RETURNING id",
            SEED,
            WORDS,
        )
        await conn.execute("ANALYZE product")
    finally:
        await conn.close()
    return database_url, [row["id"] for row in rows]


async def soak(url: str, pid: int, database_url: str, receiver: str, seed_ids: list[int], args: Any) -> dict[str, Any]:
    headers = await token_headers(database_url)
    connector = aiohttp.TCPConnector(limit=args.clients + args.watchers + 4)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector, timeout=timeout) as http:
        hook = {"url": f"{receiver}/soak", "event_types": EVENT_TYPES, "secret": "soak-secret"}
        async with http.post("/api/webhooks", json=hook) as response:
            if response.status != 201:
                raise RuntimeError(f"the webhook was refused: {response.status} {await response.text()}")
        idle = await idle_run(http, seed_ids)

        load, samples = Tally(), list[Sample]()
        watch = Watch(asyncio.get_running_loop().create_future())
        until = time.monotonic() + args.seconds
        tasks = [
            asyncio.create_task(sampler(pid, database_url, samples, until)),
            *(asyncio.create_task(watcher(http, watch, n, until)) for n in range(args.watchers)),
            *(asyncio.create_task(client(Api(http, load, f"c{n}", seed_ids), until)) for n in range(args.clients)),
        ]
        imported = await importer(http, args.rows, watch)
        await asyncio.gather(*tasks)

    expected = idle.changes + load.changes
    received = await wait_for_receipts(receiver, "soak", expected, within=120)
    conn = await connect_raw(database_url)
    try:
        events = await conn.fetchval("SELECT count(*) FROM webhook_event WHERE event_type = ANY($1)", EVENT_TYPES)
        delivered = await conn.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'")
    finally:
        await conn.close()
    return {
        "idle": idle,
        "load": load,
        "samples": samples,
        "watch": watch,
        "imported": imported,
        "expected": expected,
        "events": events,
        "delivered": delivered,
        "received": received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180, help="how long the load runs (default 180)")
    parser.add_argument("--rows", type=int, default=500_000, help="rows of the import (default 500,000)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--watchers", type=int, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))

    database_url, seed_ids = asyncio.run(prepare())
    redis_url = asyncio.run(fresh_redis(REDIS_DB))
    try:
        with receiver_process() as receiver, tempfile.TemporaryDirectory() as data_dir:
            env = receiving_service_env(database_url, redis_url, data_dir)
            with serve(env) as served:
                got = asyncio.run(soak(served.url, served.proc.pid, database_url, receiver, seed_ids, args))
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))
    report(got, args)


def ms(values: list[float], q: int) -> str:
    return f"{percentile(values, q) * 1000:.1f}" if values else "-"


def report(got: dict[str, Any], args: Any) -> None:
    idle, load, watch, imported = got["idle"], got["load"], got["watch"], got["imported"]
    requests = sum(len(v) for v in load.latencies.values())
    rate = requests / args.seconds
    print(
        f"\nsoak: {args.seconds:.0f} s, {args.clients} clients ({requests:,} requests, {rate:.0f}/s),"
        f" {args.watchers} SSE watchers, a {args.rows:,}-row import, a webhook receiver; all on 127.0.0.1\n"
    )
    print(f"{'endpoint':<10}{'requests':>9}{'idle p50':>10}{'p95':>8}{'p99':>8}{'load p50':>10}{'p95':>8}{'p99':>8}")
    print(f"{'':<10}{'':>9}{'(ms)':>10}{'':>8}{'':>8}{'(ms)':>10}{'':>8}{'':>8}{'p95/idle':>10}")
    for endpoint in MIX:
        quiet, busy = idle.latencies[endpoint], load.latencies[endpoint]
        ratio = percentile(busy, 95) / percentile(quiet, 95) if quiet and busy else 0
        print(
            f"{endpoint:<10}{len(busy):>9,}{ms(quiet, 50):>10}{ms(quiet, 95):>8}{ms(quiet, 99):>8}"
            f"{ms(busy, 50):>10}{ms(busy, 95):>8}{ms(busy, 99):>8}{ratio:>9.1f}x"
        )
    errors = idle.server_errors() + load.server_errors()
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted((idle.statuses + load.statuses).items()))
    print(f"\nanswers: {statuses}; no answer: {dict(idle.failures + load.failures) or 0}")

    samples: list[Sample] = got["samples"]
    warm = [s for s in samples if s.at >= args.seconds / 6] or samples
    start, middle, end = warm[0], warm[len(warm) // 2], warm[-1]
    first, last = warm[: max(1, len(warm) // 3)], warm[-max(1, len(warm) // 3) :]
    growth = end.rss / start.rss - 1
    print(f"\n{'after warm-up':<24}{'start':>10}{'middle':>10}{'end':>10}{'max':>10}")
    mb = 1024 * 1024
    rss = (start.rss / mb, middle.rss / mb, end.rss / mb, max(s.rss for s in warm) / mb)
    print(f"{'service RSS (MB)':<24}" + "".join(f"{v:>10.0f}" for v in rss) + f"   growth {growth:+.1%}")
    fds = (start.fds, middle.fds, end.fds, max(s.fds for s in warm))
    print(f"{'open descriptors':<24}" + "".join(f"{v:>10}" for v in fds))
    conns = (start.connections, middle.connections, end.connections, max(s.connections for s in warm))
    print(f"{'database connections':<24}" + "".join(f"{v:>10}" for v in conns))
    busy = (end.cpu - start.cpu) / max(end.at - start.at, 1)
    print(f"service CPU {busy:.0%} of a core after warm-up; machine load average {os.getloadavg()[0]:.1f} at the end")
    # Descriptors and connections come and go with the requests of the moment (the watchers open
    # a stream a second each): growth is the last third of the run holding more, by more than
    # that slack, than the most the first third held.
    fds_grew = max(s.fds for s in last) > max(s.fds for s in first) + SLACK_FDS
    conns_grew = max(s.connections for s in last) > max(s.connections for s in first)

    received = got["received"]
    print(
        f"\nimport: {imported['status']} in {imported['seconds']:.0f} s, {imported['rows_done']:,} rows"
        f" ({imported['created']:,} created, {imported['updated']:,} updated, {imported['rejected']:,} rejected);"
        f" SSE: {len(watch.saw_final)}/{args.watchers} watchers saw its final event, {watch.opened:,} streams opened"
        + (f", refused {dict(watch.refused)}" if watch.refused else "")
    )
    print(
        f"product changes answered 2xx: {got['expected']:,}; outbox events {got['events']:,};"
        f" delivered {got['delivered']:,}; received {received['count']:,} ({received['ids']:,} distinct webhook-ids)"
    )
    once = got["expected"] == got["events"] == received["count"] == received["ids"]
    imported_all = imported["status"] == "completed" and imported["rows_done"] == args.rows
    print()
    print(f"target: no 5xx ({errors}) {verdict(errors == 0)}")
    print(f"target: RSS growth after warm-up <= 10% ({growth:+.1%}) {verdict(growth <= 0.10)}")
    print(f"target: no growth of descriptors (last third's max <= first third's + {SLACK_FDS}) {verdict(not fds_grew)}")
    print(f"target: no growth of database connections (the same) {verdict(not conns_grew)}")
    print(f"target: every product change delivered exactly once {verdict(once)}")
    print(f"target: the import completes with every row {verdict(imported_all)}")
    print(f"target: every SSE watcher saw the final event {verdict(len(watch.saw_final) == args.watchers)}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
