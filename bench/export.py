"""`GET /api/products/export` of N products (default 1,000,000) against the COPY floor, in one run.

Loads N products into a database of its own on the machine's PostgreSQL (DATABASE_URL, else
postgresql://postgres@127.0.0.1:5432/test, used as admin; about 5% of the names hold a comma and
quotes, 5% of the descriptions a line break), starts the service (`python -m fulfil serve`, a real
process) and times, alternating so both see the same machine load:

  (a) the floor: the export's own `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)` through asyncpg
      on a direct connection, the chunks counted and dropped;
  (b) the service: the CSV export over HTTP with an API token, from the request to the last byte,
      the first byte (the header) and the first product row timed too.

Then once each: `sort=name` and `for=spreadsheet` (first bytes and rows/s), and an XLSX export of
the SKUs containing "SKU-00" (99,999 products). A thread samples the service's RSS every 20 ms.

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/export.py [--rows N] [--repeat R]

Targets: (b) rows/s >= 0.7 x (a) rows/s; peak RSS of the service <= 150 MB during the CSV exports;
first byte <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from common import ADMIN_URL, fresh_redis
from fulfil.db import connect_raw
from fulfil.products.export import ExportQuery, export_select
from tests.support.access import token_headers
from tests.support.databases import admin_execute, drop_database, fresh_database
from tests.support.processes import serve, service_env

DB_NAME = "fulfil_bench_export"
REDIS_DB = 14
XLSX_FILTER = "SKU-00"

# Commas, quotes and line breaks in some rows, so COPY's quoting is part of what is measured.
SEED = """
INSERT INTO product (sku, name, description, active, created_at, updated_at)
SELECT 'SKU-' || lpad(n::text, 7, '0'),
       CASE WHEN n % 20 = 0 THEN 'Widget, "deluxe" ' || n ELSE 'Widget number ' || n END,
       CASE WHEN n % 20 = 1 THEN 'First line ' || n || E'\nsecond line'
            WHEN n % 7 = 0 THEN NULL
            ELSE 'A sturdy everyday product, model ' || (n % 9973) END,
       n % 2 = 0,
       timestamptz '2025-01-01' + n * interval '20 seconds',
       timestamptz '2025-01-01' + n * interval '21 seconds'
FROM generate_series(1, $1) AS n
"""


async def load(database_url: str, rows: int) -> float:
    """The products, inserted with the secondary indexes dropped and rebuilt after; seconds."""
    conn = await connect_raw(database_url)
    try:
        started = time.perf_counter()
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'product' AND indexname <> 'product_pkey'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await conn.execute(SEED, rows)
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("VACUUM ANALYZE product")
        return time.perf_counter() - started
    finally:
        await conn.close()


class RssSampler(threading.Thread):
    """The service's peak RSS since the last `reset`, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.stop = threading.Event()
        self.peak = 0

    def reset(self) -> int:
        peak, self.peak = self.peak, self.process.memory_info().rss
        return peak

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


async def floor(database_url: str) -> dict[str, float]:
    """The export's COPY straight through asyncpg: seconds, bytes and rows."""
    sql, args = export_select(ExportQuery.model_validate({}), spreadsheet=False)
    conn = await connect_raw(database_url)
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    try:
        started = time.perf_counter()
        status = await conn.copy_from_query(sql, *args, output=sink, format="csv", header=True)
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"seconds": seconds, "bytes": size, "rows": int(status.split()[1])}


async def over_http(http: aiohttp.ClientSession, params: dict[str, str]) -> dict[str, float]:
    """One export: seconds to the last byte, to the first byte and to the first product row; bytes.

    aiohttp (its parser is C) reads it, so the client is not what is measured."""
    started = time.perf_counter()
    first_byte = first_row = 0.0
    size = 0
    async with http.get("/api/products/export", params=params) as response:
        assert response.status == 200, (await response.text())[:500]
        async for chunk in response.content.iter_any():
            now = time.perf_counter() - started
            first_byte = first_byte or now
            size += len(chunk)
            if not first_row and size > 200:  # past the header line: a product row has come
                first_row = now
    return {"seconds": time.perf_counter() - started, "first_byte": first_byte, "first_row": first_row, "bytes": size}


async def measure(url: str, pid: int, database_url: str, repeat: int) -> dict[str, Any]:
    headers = await token_headers(database_url)  # as a script would call it: with an API token
    sampler = RssSampler(pid)
    sampler.start()
    result: dict[str, Any] = {"floor": [], "http": []}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(base_url=url, headers=headers, timeout=timeout) as http:
        await over_http(http, {"sku": "SKU-000000"})  # warm: the first connection, the statement plans
        sampler.reset()
        result["idle_rss"] = psutil.Process(pid).memory_info().rss
        for _ in range(repeat):
            await admin_execute(ADMIN_URL, "CHECKPOINT")
            result["floor"].append(await floor(database_url))
            result["http"].append(await over_http(http, {}))
        result["by_name"] = await over_http(http, {"sort": "name"})
        result["spreadsheet"] = await over_http(http, {"for": "spreadsheet"})
        result["csv_rss"] = sampler.reset()
        result["xlsx"] = await over_http(http, {"format": "xlsx", "sku": XLSX_FILTER})
        result["xlsx_rss"] = sampler.reset()
    sampler.stop.set()
    sampler.join()
    return result


def report(rows: int, loaded: float, r: dict[str, Any]) -> bool:
    floor_rows = r["floor"][0]["rows"]
    floor_rate = statistics.median(rows / f["seconds"] for f in r["floor"])
    http_rate = statistics.median(rows / h["seconds"] for h in r["http"])
    first_byte = max(h["first_byte"] for h in r["http"]) * 1000
    first_row = max(h["first_row"] for h in r["http"]) * 1000
    each = ", ".join(f"{h['first_byte'] * 1000:.0f}" for h in r["http"])
    same = all(h["bytes"] == r["floor"][0]["bytes"] for h in r["http"])
    print(f"\n{rows:,} products (loaded in {loaded:.1f} s); {len(r['http'])} runs each, alternating; medians\n")
    print(f"{'measure':<52}{'value':>12}{'floor':>12}{'ratio':>8}{'target':>10}")
    lines = [
        ("(a) floor: COPY through asyncpg (rows/s)", floor_rate, None, ""),
        ("(b) GET /api/products/export (rows/s)", http_rate, floor_rate, ">= 0.7x"),
        ("    seconds for the whole file", rows / http_rate, rows / floor_rate, ""),
        ("    first byte, slowest run (ms)", first_byte, None, "<= 200"),
        ("    first product row, slowest run (ms)", first_row, None, ""),
        ("peak RSS of the service, CSV exports (MB)", r["csv_rss"] / 1e6, None, "<= 150"),
        ("    RSS before the first export (MB)", r["idle_rss"] / 1e6, None, ""),
    ]
    for name, value, base, target in lines:
        ratio = f"{value / base:.2f}x" if base else ""
        base_text = f"{base:,.0f}" if base and base > 1000 else (f"{base:.2f}" if base else "")
        value_text = f"{value:,.0f}" if value > 1000 else f"{value:.2f}"
        print(f"{name:<52}{value_text:>12}{base_text:>12}{ratio:>8}{target:>10}")
    for label, run in (("sort=name", r["by_name"]), ("for=spreadsheet", r["spreadsheet"])):
        print(
            f"{label}: {rows / run['seconds']:,.0f} rows/s, first byte {run['first_byte'] * 1000:.0f} ms, "
            f"first row {run['first_row'] * 1000:.0f} ms"
        )
    x = r["xlsx"]
    print(
        f"xlsx of sku={XLSX_FILTER} (99,999 products): {x['seconds']:.1f} s ({99_999 / x['seconds']:,.0f} rows/s), "
        f"{x['bytes'] / 1e6:.1f} MB, first byte {x['first_byte'] * 1000:.0f} ms; peak RSS {r['xlsx_rss'] / 1e6:.0f} MB"
    )
    print(f"first bytes of the timed runs (ms): {each}")
    print(f"floor rows {floor_rows:,}; the HTTP files are byte for byte the floor's size: {same}")
    return http_rate >= 0.7 * floor_rate and r["csv_rss"] <= 150e6 and first_byte <= 200 and same and floor_rows == rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (floor and HTTP)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fulfil-bench-export-"))
    database_url = asyncio.run(fresh_database(ADMIN_URL, DB_NAME, migrate=True))
    try:
        loaded = asyncio.run(load(database_url, args.rows))
        env = service_env(
            DATABASE_URL=database_url,
            REDIS_URL=asyncio.run(fresh_redis(REDIS_DB)),
            UPLOAD_DIR=work / "uploads",
            DATA_DIR=work / "data",
            LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "warning"),
        )
        with serve(env) as served:
            result = asyncio.run(measure(served.url, served.proc.pid, database_url, args.repeat))
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report(args.rows, loaded, result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
