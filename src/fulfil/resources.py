"""What a running process holds open: settings, the database pool, Redis and the job queue.

The web app's lifespan and the standalone worker both open one `Resources`; routes reach it as
`api.app_resources(request)` (from `fulfil.state`), jobs as `ctx["resources"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from databases import Database
from redis.asyncio import Redis

from fulfil.db import connect_raw, create_database
from fulfil.embedded import EmbeddedServers, start_missing
from fulfil.migrate import apply_migrations
from fulfil.queue import Queue, create_queue
from fulfil.redis import create_redis
from fulfil.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Resources:
    settings: Settings
    redis_url: str  # the in-process worker opens its own pool on it
    database_url: str  # an import opens its own connection on it (fulfil.db.dedicated_connection)
    db: Database
    redis: Redis
    queue: Queue
    embedded: EmbeddedServers | None = None
    # Which process runs the jobs ("serve" or "worker"), for the `ping` job that proves it.
    role: str = "serve"
    # Outbound webhooks' shared session, opened on first use (fulfil.webhooks.outbound.session),
    # and each webhook's concurrency limit (fulfil.webhooks.outbound.webhook_slot), and the pause
    # check a batch of deliveries shares (fulfil.webhooks.delivery.batch_turn).
    http: aiohttp.ClientSession | None = None
    webhook_slots: dict[int, asyncio.Semaphore] = field(default_factory=dict)
    webhook_turns: dict[int, asyncio.Future[None]] = field(default_factory=dict)

    async def close(self) -> None:
        """Close everything, each step even when an earlier one fails (say Redis is gone at shutdown)."""
        closers: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("the queue", self.queue.aclose),
            ("Redis", self.redis.aclose),
            ("the database pool", self.db.disconnect),
        ]
        if self.http is not None:
            closers.insert(0, ("the webhooks' HTTP session", self.http.close))
        for what, close in closers:
            try:
                await close()
            except Exception as exc:
                log.warning("closing %s failed: %r", what, exc)
        if self.embedded is not None:
            self.embedded.stop()


async def migrate(database_url: str) -> list[str]:
    conn = await connect_raw(database_url)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


async def open_resources(settings: Settings) -> Resources:
    """Connect to everything (starting the embedded servers where no URL is set).

    If a step fails, what the earlier steps opened is closed before the error goes on.
    """
    embedded = start_missing(settings.database_url, settings.redis_url, settings.data_dir)
    database_url, redis_url = embedded.database_url, embedded.redis_url
    assert database_url and redis_url
    async with contextlib.AsyncExitStack() as undo:
        undo.callback(embedded.stop)
        if settings.migrate_on_start:
            applied = await migrate(database_url)
            log.info("migrations: %s", ", ".join(applied) if applied else "up to date")
        db = create_database(database_url, settings.db_pool_size)
        await db.connect()
        undo.push_async_callback(db.disconnect)
        redis = create_redis(redis_url)
        undo.push_async_callback(redis.aclose)
        queue = await create_queue(redis_url)
        settings.uploads_path.mkdir(parents=True, exist_ok=True)
        undo.pop_all()  # all open: from here on `Resources.close` closes them
    return Resources(
        settings=settings,
        redis_url=redis_url,
        database_url=database_url,
        db=db,
        redis=redis,
        queue=queue,
        embedded=embedded,
    )
