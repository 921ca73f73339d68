"""Two web processes and two workers, each with a data directory of its own and no upload folder in
common (UPLOAD_STORAGE=database), on one PostgreSQL and one Redis: as separate hosts would run them.

Imports overlap and end exact, every webhook event reaches its receiver once, a worker killed
mid-import leaves its job to the other, a web process killed mid-upload leaves nothing imported, and
SIGTERM stops everything within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.access import token_headers
from tests.support.imports import csv_bytes, upload, wait_final, wait_rows_done
from tests.support.ports import free_port
from tests.support.processes import ROOT, run_service, service_env
from tests.support.products import create
from tests.support.receivers import running_receiver
from tests.support.waiting import eventually, wait_for_health
from tests.support.webhooks import create_webhook

pytestmark = pytest.mark.slow

BATCH_ROWS = 100


@dataclass
class Cluster:
    webs: list[str]  # base URLs
    web_procs: list[subprocess.Popen[str]]
    workers: dict[str, subprocess.Popen[str]]  # by application name

    @property
    def procs(self) -> list[subprocess.Popen[str]]:
        return [*self.web_procs, *self.workers.values()]


def host_env(name: str, tmp_path: Path, database_url: str, redis_url: str, **extra: object) -> dict[str, str]:
    """One "host": its own data and upload directories; its connections named `name` in PostgreSQL."""
    return service_env(
        DATABASE_URL=f"{database_url}?application_name={name}",
        REDIS_URL=redis_url,
        UPLOAD_STORAGE="database",
        DATA_DIR=tmp_path / name / "data",
        UPLOAD_DIR=tmp_path / name / "uploads",
        MIGRATE_ON_START="false",
        IMPORT_BATCH_ROWS=BATCH_ROWS,
        LOG_LEVEL="warning",
        **extra,
    )


@contextlib.contextmanager
def cluster(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Cluster]:
    """`fulfil migrate` (the release step), two `fulfil worker`s, then two `fulfil serve`s without workers."""
    release = subprocess.run(
        [sys.executable, "-m", "fulfil", "migrate"],
        env=host_env("release", tmp_path, database_url, redis_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert release.returncode == 0, release.stderr
    with contextlib.ExitStack() as stack:
        workers = {
            name: stack.enter_context(
                run_service("worker", env=host_env(name, tmp_path, database_url, redis_url), stdout=None)
            )
            for name in ("worker-a", "worker-b")
        }
        webs, web_procs = [], []
        for name in ("web-a", "web-b"):
            port = free_port()
            env = host_env(name, tmp_path, database_url, redis_url, WORKER_IN_PROCESS="false", PORT=port)
            web_procs.append(stack.enter_context(run_service("serve", "--host", "127.0.0.1", env=env, stdout=None)))
            webs.append(f"http://127.0.0.1:{port}")
        yield Cluster(webs, web_procs, workers)


@contextlib.asynccontextmanager
async def clients(urls: list[str], database_url: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per web process, all with one admin's token (any process accepts it)."""
    headers = await token_headers(database_url)
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30, headers=headers))
            for url in urls
        ]


async def status(database_url: str, redis_url: str) -> dict[str, object]:
    """`fulfil status --json`, as an operator runs it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fulfil",
        "status",
        "--json",
        env=service_env(DATABASE_URL=database_url, REDIS_URL=redis_url),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return json.loads(out)  # type: ignore[no-any-return]


def overlapping_file(index: int) -> bytes:
    """3,000 rows from SKU index*1000 on: each file shares 2,000 SKUs with the next."""
    return csv_bytes([[f"OV-{n}", f"file {index} item {n}", "d"] for n in range(index * 1000, index * 1000 + 3000)])


async def lock_holder(db: asyncpg.Connection) -> str | None:
    """The application name of the process holding an import job's session lock."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.classid = 4003 AND l.granted"
    )


async def test_overlapping_imports_and_webhooks_across_two_web_and_two_worker_processes(
    tmp_path: Path, database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    with cluster(tmp_path, database_url, redis_url) as running:
        for url, proc in zip(running.webs, running.web_procs, strict=True):
            await wait_for_health(url, proc)
        async with clients(running.webs, database_url) as (web_a, web_b), running_receiver() as receiver:
            views = [(await web.get("/healthz")).json() for web in (web_a, web_b)]
            assert [(v["role"], v["runs_jobs"], v["checks"]["database"]["ok"]) for v in views] == [
                ("web", False, True)
            ] * 2
            assert views[0]["process"] != views[1]["process"]
            seen = await eventually(lambda: _workers_seen(database_url, redis_url, 2), 30, what="two workers alive")
            assert {w["role"] for w in seen} == {"worker"}

            types = ["product.created", "product.updated", "import.completed"]
            await create_webhook(web_a, receiver.url, event_types=types)
            jobs = await asyncio.gather(
                *(upload((web_a, web_b)[i % 2], overlapping_file(i), f"f{i}.csv") for i in range(4))
            )
            products = [await create((web_a, web_b)[i % 2], f"API-{i}", f"api {i}") for i in range(10)]
            for i, product in enumerate(products):
                response = await (web_b, web_a)[i % 2].put(f"/api/products/{product['id']}", json={"name": "renamed"})
                assert response.status_code == 200
            finals = [await wait_final((web_a, web_b)[i % 2], job["job_id"], within=120) for i, job in enumerate(jobs)]

            assert [f["status"] for f in finals] == ["completed"] * 4
            for final in finals:
                assert final["created"] + final["updated"] + final["unchanged"] == 3000
            assert sum(f["created"] for f in finals) == 6000, "each SKU created once, by whichever file came first"
            assert await db.fetchval("SELECT count(*) FROM product WHERE sku LIKE 'OV-%'") == 6000
            assert await db.fetchval("SELECT count(*) FROM upload_chunk") == 0, "every upload removed at its end"

            expected = 4 + 10 + 10
            await eventually(lambda: _delivered(db, expected), 60, what=f"{expected} deliveries made")
            ids = [r.headers["webhook-id"] for r in receiver.received]
            assert len(ids) == expected and len(set(ids)) == expected, "each event delivered exactly once"
            after = await status(database_url, redis_url)
            assert (after["imports_running"], after["deliveries_pending"]) == ([], 0)

            # SIGTERM to everything at once while an import runs: all gone within 10 s.
            busy = await upload(web_a, csv_bytes([[f"ST-{n}", "n", "d"] for n in range(40_000)]))
            await wait_rows_done(web_a, busy["job_id"], 1_000, within=60)
            signalled = time.monotonic()
            for proc in running.procs:
                proc.send_signal(signal.SIGTERM)
            for proc in running.procs:
                proc.wait(max(0.1, 10 - (time.monotonic() - signalled)))
            assert time.monotonic() - signalled < 10
            assert [proc.returncode for proc in running.procs] == [0] * 4


async def _workers_seen(database_url: str, redis_url: str, count: int) -> list[dict[str, object]] | None:
    workers: list[dict[str, object]] = (await status(database_url, redis_url))["workers"]  # type: ignore[assignment]
    return workers if len(workers) == count else None


async def _delivered(db: asyncpg.Connection, count: int) -> bool:
    done = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'")
    return done >= count  # type: ignore[no-any-return]


async def test_a_killed_worker_leaves_its_import_to_the_other_and_a_killed_web_process_imports_nothing(
    tmp_path: Path, database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    rows = 30_000
    with cluster(tmp_path, database_url, redis_url) as running:
        for url, proc in zip(running.webs, running.web_procs, strict=True):
            await wait_for_health(url, proc)
        async with clients(running.webs, database_url) as (web_a, web_b):
            job = await upload(web_a, csv_bytes([[f"KW-{n}", f"n {n}", "d"] for n in range(rows)]))
            await wait_rows_done(web_b, job["job_id"], 2_000, within=60)
            first = await lock_holder(db)
            assert first in running.workers
            running.workers[first].kill()  # kill -9
            running.workers[first].wait(10)

            final = await wait_final(web_b, job["job_id"], within=120)
            assert (final["status"], final["rows_done"], final["created"]) == ("completed", rows, rows)
            # A second start, and only the other worker was left to make it.
            assert await db.fetchval("SELECT attempts FROM import_job WHERE id = $1", job["job_id"]) == 2
            assert await db.fetchval("SELECT count(*) FROM product WHERE sku LIKE 'KW-%'") == rows

            # A web process killed while it receives an upload: the client gets an error, no job exists.
            halfway, killed = asyncio.Event(), asyncio.Event()

            async def slow_body() -> AsyncIterator[bytes]:
                yield b"sku,name\n"
                for part in range(40):
                    yield b"".join(b"KU-%d-%d,name\n" % (part, n) for n in range(20_000))
                    if part == 10:
                        halfway.set()
                        await killed.wait()  # the rest goes to a process that is no longer there

            sending = asyncio.create_task(
                web_a.post("/api/upload", content=slow_body(), headers={"Content-Type": "text/csv"})
            )
            await halfway.wait()
            await eventually(lambda: _has_chunks(db), 30, what="part of the upload stored")
            running.web_procs[0].kill()
            running.web_procs[0].wait(10)
            killed.set()
            with pytest.raises(httpx.TransportError):
                await asyncio.wait_for(sending, 30)
            assert await db.fetchval("SELECT count(*) FROM import_job") == 1, "no job for the cut-off upload"
            assert await db.fetchval("SELECT count(*) FROM product WHERE sku LIKE 'KU-%'") == 0
            assert (await web_b.get("/healthz")).status_code == 200, "the other web process serves on"


async def _has_chunks(db: asyncpg.Connection) -> bool:
    return bool(await db.fetchval("SELECT count(*) FROM upload_chunk"))
