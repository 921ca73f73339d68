"""Webhook operations under load: a rate limit held, and an outage recovered with nothing lost or doubled.

A local aiohttp receiver runs in its own process; the service runs as `python -m fulfil serve`
(API plus in-process worker) on a fresh database of its own. Two runs, each a backlog of product
updates committed in one transaction and then one nudge (as `bench/webhooks.py` does):

- rate: a webhook with `max_per_second=200`; deliveries per second from the first receipt to
  the last. Target: 190-200/s.
- outage: the receiver answers 503 for OUTAGE seconds (default 300) from the commit of N (default
  10,000) updates; the webhook retries twice, a few seconds apart, so the deliveries end failed.
  When the receiver is back, one `POST /api/webhooks/{id}/recover` queues them again (a short
  outage leaves fewer failed: the retries of the last deliveries outlast it). Target:
  every delivery received with a 2xx exactly once per `webhook-id`, N in all.

The floor is one aiohttp session posting the same bodies to the same receiver in a plain loop:
what the receiver takes when nothing paces or fails.

    flock /tmp/fulfil-bench.lock .venv/bin/python bench/webhooks_operations.py [--updates N] [--outage S]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
from aiohttp import web

from common import ADMIN_URL, fresh_redis, receiver_stats, receiving_service_env, script_process, wait_for_receipts
from fulfil.resources import Resources, open_resources
from fulfil.settings import load_settings
from tests.support.access import token_headers
from tests.support.databases import drop_database
from tests.support.processes import serve
from tests.support.waiting import eventually
from webhooks import backlog_updates, floor, prepare

DB_NAME = "fulfil_bench_webhooks"  # `prepare` (bench/webhooks.py) makes it; the lock keeps the two apart
REDIS_DB = 10
RATE = 200
RATE_UPDATES = 4000
RETRIES = 2


# --- the receiver (its own process: `bench/webhooks_operations.py --receiver PORT`) ----------


def run_receiver(port: int) -> None:
    """Per path: receipts answered 2xx, their distinct webhook-ids, receipts refused, first and last 2xx time.

    `POST /outage/{seconds}` makes every receipt a 503 for that long.
    """
    seen: dict[str, dict] = {}
    down_until = [0.0]

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        now = time.time()
        stats = seen.setdefault(request.path, {"ok": 0, "refused": 0, "first": 0.0, "last": 0.0, "ids": set()})
        if now < down_until[0]:
            stats["refused"] += 1
            return web.Response(status=503, text="down")
        stats["ok"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        stats["ids"].add(request.headers.get("webhook-id"))
        return web.Response(text="ok")

    async def outage(request: web.Request) -> web.Response:
        down_until[0] = time.time() + float(request.match_info["seconds"])
        return web.json_response({"until": down_until[0]})

    async def report(request: web.Request) -> web.Response:
        stats = seen.get("/" + request.match_info["path"], {"ok": 0, "refused": 0, "first": 0, "last": 0, "ids": ()})
        return web.json_response({**stats, "ids": len(stats["ids"])})

    app = web.Application()
    app.router.add_get("/stats/{path}", report)
    app.router.add_post("/outage/{seconds}", outage)
    app.router.add_post("/{path}", receive)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --- the runs --------------------------------------------------------------------------------


async def failed_deliveries(resources: Resources) -> int:
    return int(await resources.db.fetch_val("SELECT count(*) FROM webhook_delivery WHERE status = 'failed'"))


async def pending_deliveries(resources: Resources) -> int:
    return int(await resources.db.fetch_val("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'"))


async def no_pending(resources: Resources) -> bool:
    return await pending_deliveries(resources) == 0


async def rate_run(api: httpx.AsyncClient, resources: Resources, receiver: str, ids: list[int]) -> dict[str, float]:
    hook = {"url": f"{receiver}/rate", "event_types": ["product.updated"], "max_per_second": RATE}
    created = (await api.post("/api/webhooks", json=hook)).raise_for_status().json()
    await backlog_updates(resources, ids)
    got = await wait_for_receipts(receiver, "rate", len(ids), within=len(ids) / RATE * 3 + 60, counted="ok")
    await api.put(f"/api/webhooks/{created['id']}", json={"enabled": False})
    return {"rate_ok": got["ok"], "rate_ids": got["ids"], "rate_seconds": got["last"] - got["first"]}


async def outage_run(
    api: httpx.AsyncClient, resources: Resources, receiver: str, updates: int, outage: float
) -> dict[str, float]:
    hook = {"url": f"{receiver}/outage", "event_types": ["product.updated"], "retry_count": RETRIES}
    created = (await api.post("/api/webhooks", json=hook)).raise_for_status().json()
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with httpx.AsyncClient() as http:
        (await http.post(f"{receiver}/outage/{outage}")).raise_for_status()
    started = time.time()
    await backlog_updates(resources, list(range(1, updates + 1)))
    await asyncio.sleep(max(0.0, started + outage - time.time()))  # the outage: retries run out meanwhile
    await eventually(lambda: no_pending(resources), within=600, every=0.5, what="every round ended")
    failed = await failed_deliveries(resources)
    before = await receiver_stats(receiver, "outage")
    asked = time.time()
    reply = await api.post(f"/api/webhooks/{created['id']}/recover", json={"since": since.isoformat()})
    queued = reply.raise_for_status().json()["queued"]
    replied = time.time()
    got = await wait_for_receipts(receiver, "outage", updates, within=600, counted="ok")
    return {
        "outage_seconds": outage,
        "outage_failed": failed,
        "outage_refused": before["refused"],
        "outage_ok_before": before["ok"],
        "recover_queued": queued,
        "recover_reply_seconds": replied - asked,
        "recover_seconds": max(0.0, got["last"] - asked) if queued else 0.0,  # nothing recovered: no time
        "outage_ok": got["ok"],
        "outage_ids": got["ids"],
    }


async def run(urls: dict[str, str], updates: int, rate_updates: int, outage: float) -> dict[str, float]:
    settings = load_settings(database_url=urls["database"], redis_url=urls["redis"], migrate_on_start=False)
    resources = await open_resources(settings)
    try:
        async with httpx.AsyncClient(base_url=urls["service"], headers=await token_headers(resources.db)) as api:
            # Products of their own: the outage run's updates must each change something.
            got = await rate_run(api, resources, urls["receiver"], list(range(updates + 1, updates + rate_updates + 1)))
            got |= await outage_run(api, resources, urls["receiver"], updates, outage)
        rows = await resources.db.fetch_all("SELECT body FROM webhook_delivery ORDER BY id LIMIT :n", {"n": updates})
    finally:
        await resources.close()
    got["floor_seconds"] = await floor(urls["receiver"], [row["body"].encode() for row in rows])
    got["floor_count"] = len(rows)
    return got


def main(updates: int, rate_updates: int, outage: float) -> None:
    urls = {"database": asyncio.run(prepare(updates + rate_updates)), "redis": asyncio.run(fresh_redis(REDIS_DB))}
    try:
        receiving = script_process(__file__, "--receiver", ready="/stats/none")
        with receiving as receiver, tempfile.TemporaryDirectory() as data_dir:
            retries = {"WEBHOOK_RETRY_BASE_SECONDS": "2", "WEBHOOK_RETRY_MAX_SECONDS": "10"}
            env = receiving_service_env(urls["database"], urls["redis"], data_dir, **retries)
            with serve(env) as served:
                got = asyncio.run(
                    run({**urls, "receiver": receiver, "service": served.url}, updates, rate_updates, outage)
                )
    finally:
        asyncio.run(drop_database(ADMIN_URL, DB_NAME))
    report(updates, got)


def report(updates: int, got: dict[str, float]) -> None:
    floor_rate = got["floor_count"] / got["floor_seconds"]
    rate = (got["rate_ok"] - 1) / got["rate_seconds"] if got["rate_seconds"] else 0.0
    recover_rate = got["recover_queued"] / got["recover_seconds"] if got["recover_seconds"] else 0.0
    print()
    print(
        f"webhook operations: max_per_second={RATE} on {got['rate_ok']:,.0f} deliveries; a {got['outage_seconds']:g} s"
    )
    print(f"receiver outage on {updates:,} deliveries ({RETRIES} retries each), then one recover")
    rows = [
        ("rate: first -> last receipt", f"{got['rate_seconds']:.2f} s", f"{rate:.1f}/s"),
        ("outage: refused (503) during the outage", f"{got['outage_refused']:,.0f}", ""),
        ("outage: deliveries ended failed", f"{got['outage_failed']:,.0f}", ""),
        ("recover: reply to POST .../recover", f"{got['recover_reply_seconds']:.2f} s", ""),
        ("recover: request -> last receipt", f"{got['recover_seconds']:.2f} s", f"{recover_rate:.0f}/s"),
        ("floor: bare aiohttp loop, same bodies", f"{got['floor_seconds']:.2f} s", f"{floor_rate:.0f}/s"),
        ("ratio rate / max_per_second", "", f"{rate / RATE:.3f}x"),
        ("ratio recover / floor", "", f"{recover_rate / floor_rate:.2f}x"),
    ]
    print(f"{'measure':<52}{'value':>12}{'rate':>10}")
    for name, value, per_second in rows:
        print(f"{name:<52}{value:>12}{per_second:>10}")
    exact = got["outage_ok"] == updates and got["outage_ids"] == updates
    print(
        f"received 2xx: rate {got['rate_ok']:,.0f} ({got['rate_ids']:,.0f} webhook-ids); outage run "
        f"{got['outage_ok']:,.0f} ({got['outage_ids']:,.0f} webhook-ids; "
        f"{got['outage_ok_before']:,.0f} before recover, {got['recover_queued']:,.0f} recovered)"
    )
    print(f"targets: rate 190-200/s {verdict(190 <= rate <= 200.5)}; each of {updates:,} exactly once {verdict(exact)}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000, help="deliveries of the outage run")
    parser.add_argument("--rate-updates", type=int, default=RATE_UPDATES, help="deliveries of the rate run")
    parser.add_argument("--outage", type=float, default=300.0, help="seconds the receiver answers 503")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(args.receiver)
    else:
        main(args.updates, args.rate_updates, args.outage)
