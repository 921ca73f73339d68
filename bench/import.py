"""The CSV import end to end against the PostgreSQL floor, in one run.

Writes a CSV of N products (default 500,000; 2% of the rows repeat an earlier SKU in another case,
some descriptions are quoted and hold line breaks) and measures, on the machine's PostgreSQL
(DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test, used as admin; the bench makes a
database of its own):

  (a) the floor: COPY of the file into a temp table plus one
      INSERT ... SELECT DISTINCT ON (lower(sku)) ... ON CONFLICT ((lower(sku))) DO UPDATE
      into a fresh table created LIKE product INCLUDING ALL;
  (a') the same into a table with the product's indexes but no trigram ones: what the search
      structure costs the import is (b) against it;
  (b) the service (`python -m fulfil serve`, a real process): from the start of the upload request
      to the final SSE event, while another thread samples GET /api/products/{id};
  (c) both again with the same file (every row already there);
  (d) the undo of (b)'s import (every product it created deleted), request to final SSE event;
  (e) a preview (dry_run) of the same file, before (b), so it compares with the catalogue (b) writes to;
  (f) an import of the same rows under other SKUs and foreign headers, with a `mapping`;
  (g) an import of a Shopify product export of as many variant rows (five variants a handle, the
      product's columns on its first row), recognised with no mapping;
  (f) and (g) each start, like (b), from a catalogue of only the probe products (vacuumed).

It also reports the service's peak RSS (sampled every 20 ms) and the p95 of the product GETs.

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/import.py [--rows N] [--storage database|local]

`--storage` sets the service's UPLOAD_STORAGE (default: the service's default); compare the two
by running it once with each.

Targets: (b) <= 1.3 x (a) and <= 2.0 x (a'); service re-import <= 0.6 x the floor's re-import; (d) <= 1.0 x (b);
(e) <= 0.5 x (b); (f) and (g) <= 1.1 x (b); peak RSS <= 200 MB; p95 GET /api/products/{id} during (b) <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil

from common import ADMIN_URL, fresh_redis, percentile
from fulfil.db import connect_raw
from tests.support.access import token_headers
from tests.support.databases import admin_execute, drop_database, fresh_database
from tests.support.processes import serve, service_env

DB_NAME = "fulfil_bench_import"
REDIS_DB = 14
PROBE_PRODUCTS = 1000

FLOOR_STAGE = "CREATE TEMP TABLE stage (line bigserial, name text, sku text, description text)"
FLOOR_UPSERT = """
INSERT INTO {table} AS p (sku, name, description, active)
SELECT DISTINCT ON (lower(sku)) sku, name, description, random() < 0.5
FROM stage ORDER BY lower(sku), line DESC
ON CONFLICT ((lower(sku))) DO UPDATE
SET sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description, updated_at = now()
"""


WORDS = ["steel", "oak", "cotton", "glass", "compact", "classic", "modern", "smart", "heavy", "slim"]
MAPPED_HEADER = "Title,Item No.,Long text"
MAPPING = {"sku": "Item No.", "name": "Title", "description": "Long text"}
SHOPIFY_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
    "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
    "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price", "Variant Requires Shipping",
    "Variant Taxable", "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card", "SEO Title",
    "SEO Description", "Variant Image", "Variant Weight Unit", "Variant Tax Code", "Cost per item", "Status",
]  # fmt: skip
VARIANTS = ["XS", "S", "M", "L", "XL"]


def write_csv(path: Path, rows: int, header: str = "name,sku,description", prefix: str = "SKU") -> None:
    """The seed's columns (name, sku, description); 2% repeat an earlier SKU in another case."""
    rng = random.Random(42)
    words = WORDS
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(header + "\n")
        for i in range(rows):
            repeat = i > 100 and rng.random() < 0.02
            sku = f"{prefix}-{rng.randrange(i):07d}".lower() if repeat else f"{prefix}-{i:07d}"
            name = f"{rng.choice(words).title()} {rng.choice(words)} item {i}"
            if rng.random() < 0.05:
                description = f'"A {rng.choice(words)} product,\nsecond line with ""quotes"" {i}"'
            else:
                description = f"A {rng.choice(words)} {rng.choice(words)} product number {i} for everyday use"
            f.write(f"{name},{sku},{description}\n")


def write_shopify(path: Path, rows: int) -> None:
    """A Shopify product export of `rows` variant rows: five sizes a handle, the product's columns on its first row."""
    rng = random.Random(42)
    blank = [""] * len(SHOPIFY_HEADER)
    at = {name: i for i, name in enumerate(SHOPIFY_HEADER)}
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(SHOPIFY_HEADER)
        for i in range(rows):
            row = list(blank)
            row[at["Handle"]] = f"product-{i // len(VARIANTS)}"
            if i % len(VARIANTS) == 0:
                row[at["Title"]] = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} item {i}"
                row[at["Body (HTML)"]] = f"<p>A <strong>{rng.choice(WORDS)}</strong> product &amp; number {i}</p>"
                row[at["Vendor"]], row[at["Published"]], row[at["Status"]] = "Acme", "true", "active"
                row[at["Option1 Name"]] = "Size"
            row[at["Option1 Value"]] = VARIANTS[i % len(VARIANTS)]
            row[at["Variant SKU"]] = f"SHOP-{i:07d}"
            row[at["Variant Price"]], row[at["Variant Inventory Policy"]] = "19.99", "deny"
            out.writerow(row)


async def floor(database_url: str, path: Path, table: str = "floor_product") -> float:
    """COPY + one upsert into `table`, in one transaction; seconds."""
    conn = await connect_raw(database_url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(FLOOR_STAGE)
            await conn.copy_to_table(
                "stage", source=str(path), columns=["name", "sku", "description"], format="csv", header=True
            )
            await conn.execute(FLOOR_UPSERT.format(table=table))
            await conn.execute("DROP TABLE stage")
        return time.perf_counter() - started
    finally:
        await conn.close()


class Sampler(threading.Thread):
    """Peak RSS of the service and GET /api/products/{id} latencies, while an import runs."""

    def __init__(self, url: str, headers: dict[str, str], pid: int, ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.process, self.ids = url, headers, psutil.Process(pid), ids
        self.running = threading.Event()
        self.stop = threading.Event()
        self.peak_rss = 0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10, headers=self.headers) as http:
            while not self.stop.is_set():
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
                if self.running.is_set():
                    started = time.perf_counter()
                    response = http.get(f"/api/products/{random.choice(self.ids)}")
                    self.latencies.append(time.perf_counter() - started)
                    self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
                time.sleep(0.02)


async def service_import(url: str, path: Path, sampler: Sampler, **options: str) -> tuple[float, float, dict[str, Any]]:
    """Upload (raw text/csv, streamed from disk, with any options) and follow the SSE stream to the final event."""
    async with httpx.AsyncClient(base_url=url, timeout=600, headers=sampler.headers) as http:
        sampler.running.set()
        started = time.perf_counter()
        query = urlencode({"filename": "bench.csv", **options})
        response = await http.post(
            f"/api/upload?{query}", content=file_chunks(path), headers={"Content-Type": "text/csv"}
        )
        uploaded = time.perf_counter() - started
        assert response.status_code == 202, response.text
        final = await follow(http, response.json()["stream_url"])
        total = time.perf_counter() - started
        sampler.running.clear()
    return total, uploaded, final


async def follow(http: httpx.AsyncClient, stream_url: str) -> dict[str, Any]:
    """The job's SSE stream to its final event; that event's snapshot."""
    final: dict[str, Any] = {}
    async with http.stream("GET", stream_url) as events:
        async for line in events.aiter_lines():
            if line.startswith("data:"):
                final = json.loads(line[5:])
    return final


async def service_undo(url: str, headers: dict[str, str], job_id: str) -> tuple[float, dict[str, Any]]:
    """POST the undo of the job and follow its stream to the final event; seconds and the snapshot."""
    async with httpx.AsyncClient(base_url=url, timeout=600, headers=headers) as http:
        started = time.perf_counter()
        response = await http.post(f"/api/upload/{job_id}/undo")
        assert response.status_code == 202, response.text
        final = await follow(http, response.json()["stream_url"])
        return time.perf_counter() - started, final


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


async def measure(url: str, pid: int, database_url: str, work: Path) -> dict[str, Any]:
    """The timed runs, with the sampler on during the service's."""
    path = work / "products.csv"
    conn = await connect_raw(database_url)
    await conn.execute("CREATE TABLE floor_product (LIKE product INCLUDING ALL)")
    await conn.execute("CREATE TABLE floor_plain (LIKE product INCLUDING ALL)")
    trigram = await conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'floor_plain' AND indexdef LIKE '%gin_trgm_ops%'"
    )
    for index in trigram:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    probes = await conn.fetch(
        "INSERT INTO product (sku, name) SELECT 'PROBE-' || g, 'probe ' || g "
        "FROM generate_series(1, $1) g RETURNING id",
        PROBE_PRODUCTS,
    )
    await conn.close()
    headers = await token_headers(database_url)  # as a script would call it: with an API token
    sampler = Sampler(url, headers, pid, [r["id"] for r in probes])
    sampler.start()
    # Each run starts after a CHECKPOINT, so none pays for flushing the previous one's writes.
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result: dict[str, Any] = {"floor_first": await floor(database_url, path)}
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["floor_plain"] = await floor(database_url, path, "floor_plain")
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["service_preview"], _, result["preview"] = await service_import(url, path, sampler, dry_run="true")
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["service_first"], result["upload_first"], result["first"] = await service_import(url, path, sampler)
    result["latencies_first"], sampler.latencies = sampler.latencies, []
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["floor_again"] = await floor(database_url, path)
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["service_again"], result["upload_again"], result["again"] = await service_import(url, path, sampler)
    result["latencies_again"] = sampler.latencies
    await admin_execute(ADMIN_URL, "CHECKPOINT")
    result["service_undo"], result["undo"] = await service_undo(url, headers, result["first"]["job_id"])
    await reset_catalogue(database_url)
    mapped = json.dumps(MAPPING)
    result["service_mapped"], _, result["mapped"] = await service_import(
        url, work / "mapped.csv", sampler, mapping=mapped
    )
    await reset_catalogue(database_url)
    result["service_shopify"], _, result["shopify"] = await service_import(url, work / "shopify.csv", sampler)
    sampler.stop.set()
    sampler.join()
    result["peak_rss"], result["statuses"] = sampler.peak_rss, sampler.statuses
    return result


async def reset_catalogue(database_url: str) -> None:
    """Back to the catalogue (b) met: only the probe products, the table vacuumed, after a CHECKPOINT."""
    conn = await connect_raw(database_url)
    try:
        await conn.execute("DELETE FROM product WHERE sku NOT LIKE 'PROBE-%'")
        await conn.execute("VACUUM ANALYZE product")
    finally:
        await conn.close()
    await admin_execute(ADMIN_URL, "CHECKPOINT")


def job_seconds(snapshot: dict[str, Any]) -> float:
    """How long the job itself ran, from its snapshot's started_at to finished_at."""
    started, finished = (datetime.fromisoformat(snapshot[key]) for key in ("started_at", "finished_at"))
    return (finished - started).total_seconds()


def counts(s: dict[str, Any]) -> str:
    return (
        f"{s['status']}: created {s['created']:,}, updated {s['updated']:,}, "
        f"unchanged {s['unchanged']:,}, rejected {s['rejected']:,}"
    )


def report(rows_count: int, storage: str, r: dict[str, Any]) -> None:
    print(f"\nCSV import, {rows_count:,} rows, upload storage {storage}; times in seconds\n")
    print(f"{'measure':<44}{'value':>10}{'floor':>10}{'ratio':>8}{'target':>10}")
    rows = [
        ("(a) floor: COPY + one upsert", r["floor_first"], None, None),
        ("(a') floor without trigram indexes", r["floor_plain"], None, None),
        ("(b) service: upload start -> final SSE event", r["service_first"], r["floor_first"], "<= 1.3x"),
        ("(b) against the floor without trigrams", r["service_first"], r["floor_plain"], "<= 2.0x"),
        ("    of which the upload", r["upload_first"], None, None),
        ("(c) floor again, same file", r["floor_again"], None, None),
        ("(c) service again, same file", r["service_again"], r["floor_again"], "<= 0.6x"),
        ("    of which the upload", r["upload_again"], None, None),
        ("(d) service: undo of (b), request -> final", r["service_undo"], r["service_first"], "<= 1.0x"),
        ("(e) preview (dry_run) of the file, before (b)", r["service_preview"], r["service_first"], "<= 0.5x"),
        ("(f) import with a mapping, other SKUs", r["service_mapped"], r["service_first"], "<= 1.1x"),
        ("(g) Shopify export, as many variant rows", r["service_shopify"], r["service_first"], "<= 1.1x"),
    ]
    # The jobs' own run (started_at -> finished_at), without the upload or any wait for the worker.
    ran = {key: job_seconds(r[key]) for key in ("first", "preview", "mapped", "shopify")}
    rows += [
        ("(e) preview's job run against (b)'s", ran["preview"], ran["first"], "<= 0.5x"),
        ("(f) mapped import's job run against (b)'s", ran["mapped"], ran["first"], "<= 1.1x"),
        ("(g) Shopify import's job run against (b)'s", ran["shopify"], ran["first"], "<= 1.1x"),
    ]
    for name, value, base, target in rows:
        ratio = f"{value / base:.2f}x" if base else ""
        base_text = f"{base:.2f}" if base else ""
        print(f"{name:<44}{value:>10.2f}{base_text:>10}{ratio:>8}{target or '':>10}")
    print(f"{'peak RSS of the service (MB)':<44}{r['peak_rss'] / 1e6:>10.0f}{'':>18}{'<= 200':>10}")
    during_b = percentile(r["latencies_first"], 95) * 1000
    print(f"{'p95 GET /api/products/{id} during (b) (ms)':<44}{during_b:>10.1f}{'':>18}{'<= 50':>10}")
    print(f"{'p95 GET /api/products/{id} during (c) (ms)':<44}{percentile(r['latencies_again'], 95) * 1000:>10.1f}")
    samples = f"{len(r['latencies_first'])} in (b), {len(r['latencies_again'])} in (c)"
    print(f"\nGET samples: {samples}; by status {r['statuses']}")
    print(f"(b) {counts(r['first'])}\n(c) {counts(r['again'])}")
    u = r["undo"]
    print(f"(d) {u['status']}: deleted {u['deleted']:,}, restored {u['restored']:,}, conflicts {u['conflicts']:,}")
    e = r["preview"]
    print(
        f"(e) {e['status']}: would create {e['would_create']:,}, would update {e['would_update']:,}, "
        f"duplicates {e['duplicates_in_file']:,}; (b) duplicates {r['first']['duplicates_in_file']:,}"
    )
    print(f"(f) {counts(r['mapped'])}\n(g) {counts(r['shopify'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--storage", choices=["database", "local"], help="the service's UPLOAD_STORAGE")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fulfil-bench-import-"))
    path = work / "products.csv"
    started = time.perf_counter()
    write_csv(path, args.rows)
    write_csv(work / "mapped.csv", args.rows, MAPPED_HEADER, "MAP")
    write_shopify(work / "shopify.csv", args.rows)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(work.glob("*.csv")))
    print(f"wrote {args.rows:,} rows a file ({sizes}) in {time.perf_counter() - started:.1f} s")

    database_url = asyncio.run(fresh_database(ADMIN_URL, DB_NAME))  # the service migrates it at start
    env = service_env(
        DATABASE_URL=database_url,
        REDIS_URL=asyncio.run(fresh_redis(REDIS_DB)),
        UPLOAD_DIR=work / "uploads",
        DATA_DIR=work / "data",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "warning"),
        **({"UPLOAD_STORAGE": args.storage} if args.storage else {}),
    )
    try:
        with serve(env) as served:
            result = asyncio.run(measure(served.url, served.proc.pid, database_url, work))
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))
        shutil.rmtree(work, ignore_errors=True)
    report(args.rows, args.storage or "the default", result)


if __name__ == "__main__":
    main()
