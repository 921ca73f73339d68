"""`GET /api/products` at scale: p50/p95 over HTTP against the same SQL straight through asyncpg.

Loads N products (default 1,000,000) by COPY into a fresh database of its own on the machine's
PostgreSQL (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test, used as admin), starts
the service in-process with uvicorn on a free port and times each query both ways, alternating
so both see the same machine load. The floor runs exactly the statements the route runs (with a
text filter the matching ids up to the cap, then the page among them or past the cap the page;
without one the page, the capped count, the estimate past the cap) on one asyncpg connection;
the HTTP figure adds routing, validation, the `databases` pool, JSON and the HTTP round trip.

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/products_list.py [--rows N] [--repeat R]
        [--keep, then --reuse] [--without-trigrams]

Targets: SKU and name searches (`q`, `sku`, `name`) p95 <= 30 ms with pg_trgm (<= 1 s without);
the description filter (no index: it reads the table) <= 500 ms; every HTTP p95 <= 1.5 x its
floor p95 + 5 ms. The deep pages (the last by name, the one before it by cursor) must answer as
fast as the first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
import httpx

from common import ADMIN_URL, fresh_redis, percentile
from fulfil.db import connect_raw
from fulfil.products import queries, service
from fulfil.products.schemas import ProductQuery
from fulfil.settings import load_settings
from tests.support.access import token_headers
from tests.support.databases import drop_database, fresh_database, with_database
from tests.support.live import start_live_server

DB_NAME = "fulfil_bench_products"
REDIS_DB = 11

ADJECTIVES = [
    "Blue",
    "Red",
    "Green",
    "Black",
    "White",
    "Silver",
    "Golden",
    "Compact",
    "Heavy",
    "Light",
    "Smart",
    "Classic",
    "Modern",
    "Rustic",
    "Slim",
    "Large",
]
MATERIALS = [
    "Steel",
    "Oak",
    "Cotton",
    "Leather",
    "Glass",
    "Ceramic",
    "Bamboo",
    "Copper",
    "Wool",
    "Linen",
    "Carbon",
    "Marble",
    "Nylon",
    "Brass",
    "Pine",
]
NOUNS = [
    "Widget",
    "Gadget",
    "Lamp",
    "Chair",
    "Table",
    "Kettle",
    "Mug",
    "Bottle",
    "Backpack",
    "Wallet",
    "Jacket",
    "Scarf",
    "Helmet",
    "Speaker",
    "Charger",
    "Cable",
    "Mouse",
    "Keyboard",
    "Monitor",
    "Stand",
    "Shelf",
    "Basket",
    "Blanket",
    "Pillow",
    "Candle",
    "Clock",
    "Mirror",
    "Vase",
    "Bowl",
    "Plate",
    "Knife",
    "Spoon",
    "Hammer",
    "Wrench",
    "Drill",
    "Saw",
    "Ladder",
    "Hose",
    "Rake",
    "Shovel",
    "Tent",
    "Lantern",
    "Compass",
    "Binoculars",
    "Camera",
    "Tripod",
    "Notebook",
    "Pen",
    "Pencil",
    "Folder",
    "Stapler",
    "Ruler",
    "Easel",
    "Brush",
    "Canvas",
    "Guitar",
    "Drum",
    "Violin",
    "Trumpet",
    "Flute",
]
PHRASES = [
    "built to last",
    "easy to clean",
    "ships flat-packed",
    "gift ready",
    "water resistant",
    "handmade in small batches",
    "two-year warranty",
    "fits most spaces",
]

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("first page", {}),
    ("page 1,000", {"page": 1000}),
    ("by name", {"sort": "name"}),
    ("last by name", {"sort": "name", "last": "true"}),
    ("name=kettle", {"name": "kettle"}),
    ("name=kettle 42", {"name": "kettle 42"}),
    ("sku=00123", {"sku": "00123"}),
    ("q=SKU-0777770", {"q": "SKU-0777770"}),
    ("q=0777770", {"q": "0777770"}),
    ("q=SKU-777770", {"q": "SKU-777770"}),
    ("q=777770", {"q": "777770"}),
    ("q=kettle", {"q": "kettle"}),
    ("q=oak kettle", {"q": "oak kettle"}),
    ("q=bamboo", {"q": "bamboo"}),
    ("desc=kettle", {"description": "kettle"}),
    ("desc=gift ready", {"description": "gift ready"}),
    ("desc=Model 4242", {"description": "Model 4242"}),
    ("desc=no such phrase", {"description": "no such phrase"}),
    ("active=false", {"active": "false"}),
    ("sort=description", {"sort": "description"}),
]
# Searches whose p95 target is SEARCH_TARGET_MS (with pg_trgm; 1 s without), and the description
# filter's (it reads the table); the rest are held to their floor.
SEARCH_TARGET_MS, SCAN_TARGET_MS, DESCRIPTION_TARGET_MS = 30.0, 1000.0, 500.0


def product_rows(count: int) -> list[tuple[Any, ...]]:
    rng = random.Random(42)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, count + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)} {rng.randint(1, 999)}"
        description = f"{name}: {rng.choice(PHRASES)}, {rng.choice(PHRASES)}. Model {rng.randint(1000, 9999)}."
        created = start + timedelta(seconds=i * 20)
        updated = created + timedelta(seconds=rng.randint(0, 86_400 * 30))
        rows.append((i, f"SKU-{i:07d}", name, description, rng.random() < 0.5, created, updated))
    return rows


def positional(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """`:name` parameters (the `databases` style the service uses) as asyncpg's `$n`."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    return re.sub(r"(?<!:):(\w+)", number, sql), [params[name] for name in order]


async def load(rows: int) -> dict[str, float]:
    """A fresh database: migrations, then COPY with the product indexes dropped and rebuilt after."""
    conn = await connect_raw(await fresh_database(ADMIN_URL, DB_NAME, migrate=True))
    timings = {}
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'product' AND indexname <> 'product_pkey'"
        )
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['indexname']}")
        started = time.perf_counter()
        records = product_rows(rows)
        timings["generate"] = time.perf_counter() - started
        started = time.perf_counter()
        columns = ["id", "sku", "name", "description", "active", "created_at", "updated_at"]
        await conn.copy_records_to_table("product", records=records, columns=columns)
        timings["copy"] = time.perf_counter() - started
        del records
        started = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("SELECT setval(pg_get_serial_sequence('product', 'id'), max(id)) FROM product")
        timings["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE product")
        timings["vacuum analyze"] = time.perf_counter() - started
        trgm = await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        timings["pg_trgm"] = float(trgm)
    finally:
        await conn.close()
    return timings


async def drop_trigram_indexes() -> None:
    """The product's trigram indexes gone, as where the migrations found no pg_trgm."""
    conn = await connect_raw(with_database(ADMIN_URL, DB_NAME))
    try:
        names = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'product' AND indexdef LIKE '%gin_trgm_ops%'"
        )
        for row in names:
            await conn.execute(f"DROP INDEX {row['indexname']}")
        await conn.execute("ANALYZE product")
    finally:
        await conn.close()


def floor_statements(params: dict[str, Any], secret: str, indexed: bool) -> tuple[queries.ListSql, list[list[Any]]]:
    """The route's statements for these parameters, built once, as asyncpg arguments: the matching
    ids (a text filter) or the page, the count, the estimate, whether search is indexed, and the
    exact-SKU lookup on a searched first page."""
    query = ProductQuery.model_validate(params)
    position, reverse = service.paging(query, secret)
    sql = queries.list_queries(query, position, reverse=reverse, indexed=indexed)
    first = (sql.matching, sql.params) if sql.matching else (sql.page, sql.page_params)
    statements = [first, (sql.count, sql.params), (sql.estimate, sql.params)]
    statements.append((queries.SEARCH_INDEXED, {}))
    term = query.q or query.sku
    if term and position is None and not reverse:
        statements.append((queries.SELECT_BY_SKU, {"sku": term}))
    return sql, [[text, *values] for text, values in (positional(s, p) for s, p in statements)]


async def floor_request(conn: asyncpg.Connection, sql: queries.ListSql, statements: list[list[Any]]) -> None:
    """What `list_products` runs, minus everything but the SQL."""
    first, count, estimate, *others = statements
    if sql.matching is not None and sql.page_within is not None:
        ids = await conn.fetchval(*first) or []
        within = len(ids) <= sql.cap
        page, params = (
            (sql.page_within, sql.page_params | {"matched_ids": ids}) if within else (sql.page, sql.page_params)
        )
        text, values = positional(page, params)
        await conn.fetch(text, *values)
    else:
        rows = await conn.fetch(*first)
        more = len(rows) > sql.page_params["limit"] - 1
        counted = await conn.fetchval(*count) if service.needs_count(sql, len(rows), more) else 0
        if counted > sql.cap:
            json.loads(await conn.fetchval(*estimate))
    for statement in others:
        await conn.fetch(*statement)


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(repeat: int, warmup: int, bulk_delete: bool) -> list[dict[str, Any]]:
    settings = load_settings(
        database_url=with_database(ADMIN_URL, DB_NAME),
        redis_url=await fresh_redis(REDIS_DB),
        worker_in_process=False,
        migrate_on_start=False,
        log_level="warning",
        _env_file=None,
    )
    live = await start_live_server(settings)
    conn = await connect_raw(with_database(ADMIN_URL, DB_NAME))
    results = []
    try:
        headers = await token_headers(live.resources.db)  # as a script would call it: with an API token
        async with httpx.AsyncClient(base_url=live.url, timeout=30, headers=headers) as http:
            last = (await http.get("/api/products", params={"sort": "name", "last": "true"})).json()
            before_last = {"sort": "name", "before": last["prev_cursor"]}
            for label, params in [*QUERIES, ("before last, cursor", before_last)]:
                response = await http.get("/api/products", params=params)
                response.raise_for_status()
                body = response.json()
                floor, over_http = [], []
                sql, statements = floor_statements(params, settings.secret_key, body["search_indexed"])
                for i in range(warmup + repeat):
                    f = await timed(partial(floor_request, conn, sql, statements))
                    h = await timed(partial(http.get, "/api/products", params=params))
                    if i >= warmup:
                        floor.append(f)
                        over_http.append(h)
                results.append({"label": label, "body": body, "floor": floor, "http": over_http})
            if bulk_delete:
                started = time.perf_counter()
                response = await http.delete("/api/products/bulk", params={"confirm": "true"})
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                results.append({"label": "bulk delete", "deleted": response.json()["deleted"], "ms": elapsed})
    finally:
        await conn.close()
        await live.stop()
    return results


def target_ms(label: str, floor95: float, trigrams: bool) -> float:
    """The p95 a query is held to: its floor's, and at most the search targets for searches."""
    target = 1.5 * floor95 + 5
    if label.startswith("desc="):
        return max(target, DESCRIPTION_TARGET_MS) if not trigrams else DESCRIPTION_TARGET_MS
    if label.split("=")[0] in ("q", "sku", "name"):
        return SEARCH_TARGET_MS if trigrams else SCAN_TARGET_MS
    return target


def report(rows: int, timings: dict[str, float], results: list[dict[str, Any]], repeat: int) -> bool:
    trigrams = bool(timings.pop("pg_trgm"))
    trgm = "with pg_trgm" if trigrams else "WITHOUT pg_trgm"
    loaded = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) or "reused the last run's database"
    print(f"\n{rows:,} products, {trgm}; load: {loaded}")
    print("name=kettle matches 1.7% of rows, q=bamboo 6.7%, name=kettle 42 and sku=00123 about 0.02%")
    print(f"{repeat} timed requests per query (after warm-up), floor and HTTP alternating; times in ms\n")
    header = (
        f"{'query':<20} {'total':>12} {'floor p50':>9} {'floor p95':>9} {'http p50':>9} {'http p95':>9} "
        f"{'p95 ratio':>9} {'target p95':>10}  ok"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for result in results:
        if result["label"] == "bulk delete":
            print(f"\nDELETE /api/products/bulk?confirm=true of {result['deleted']:,} products: {result['ms']:.0f} ms")
            continue
        floor50, floor95 = percentile(result["floor"], 50), percentile(result["floor"], 95)
        http50, http95 = percentile(result["http"], 50), percentile(result["http"], 95)
        target = target_ms(result["label"], floor95, trigrams)
        ok = http95 <= target
        all_ok &= ok
        body = result["body"]
        total = {"exact": "", "about": "~", "more_than": ">"}[body["total_kind"]] + f"{body['total']:,}"
        print(
            f"{result['label']:<20} {total:>12} {floor50:>9.2f} {floor95:>9.2f} {http50:>9.2f} {http95:>9.2f} "
            f"{http95 / floor95:>8.2f}x {target:>10.1f}  {'yes' if ok else 'NO'}"
        )
    caps = f"{queries.COUNT_CAP:,} ({queries.SEARCH_COUNT_CAP:,} with a text filter)"
    print(f"\ntotal: exact up to {caps} matches; past that '~' is the planner's estimate, '>' 'more than'")
    first, deep = (next(r for r in results if r["label"] == label) for label in ("by name", "before last, cursor"))
    ratio = percentile(deep["http"], 95) / percentile(first["http"], 95)
    print(f"deep page by name (cursor) p95 / first page by name p95: {ratio:.2f}x")
    return all_ok


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the database loaded by the last run")
    parser.add_argument(
        "--without-trigrams",
        action="store_true",
        help="drop the trigram indexes first: searches as on a server without pg_trgm (the embedded one)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the benchmark database in place")
    args = parser.parse_args()
    timings = {"pg_trgm": 1.0} if args.reuse else await load(args.rows)
    if args.without_trigrams:
        await drop_trigram_indexes()
        timings["pg_trgm"] = 0.0
    try:
        results = await measure(args.repeat, args.warmup, bulk_delete=not args.keep)
    finally:
        if not args.keep:
            await drop_database(ADMIN_URL, DB_NAME)
    return 0 if report(args.rows, timings, results, args.repeat) else 1


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        sys.exit(asyncio.run(main()))
    sys.exit(uvloop.run(main()))
