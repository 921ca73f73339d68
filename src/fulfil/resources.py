"""What a running process holds open: settings, the database pool, Redis and the job queue.

The web app's lifespan and the standalone worker both open one `Resources`; routes reach it as
`request.app.state.resources`, jobs as `ctx["resources"]`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from arq.connections import ArqRedis
from databases import Database
from redis.asyncio import Redis

from fulfil.db import connect_raw, create_database
from fulfil.embedded import EmbeddedServers, start_missing
from fulfil.migrate import apply_migrations
from fulfil.queue import create_queue
from fulfil.redis import create_redis
from fulfil.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Resources:
    settings: Settings
    database_url: str
    redis_url: str
    db: Database
    redis: Redis
    queue: ArqRedis
    embedded: EmbeddedServers | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Outbound webhooks' shared session, opened on first use (fulfil.webhooks.outbound.session).
    http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.queue.aclose()
        await self.redis.aclose()
        await self.db.disconnect()
        if self.embedded is not None:
            self.embedded.stop()


async def migrate(database_url: str) -> list[str]:
    conn = await connect_raw(database_url)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


async def open_resources(settings: Settings, *, migrate_on_start: bool | None = None) -> Resources:
    """Connect to everything (starting the embedded servers where no URL is set)."""
    embedded = start_missing(settings.database_url, settings.redis_url, settings.data_dir)
    database_url, redis_url = embedded.database_url, embedded.redis_url
    assert database_url and redis_url
    if settings.migrate_on_start if migrate_on_start is None else migrate_on_start:
        applied = await migrate(database_url)
        log.info("migrations: %s", ", ".join(applied) if applied else "up to date")
    db = create_database(database_url, settings.db_pool_size)
    await db.connect()
    settings.uploads_path.mkdir(parents=True, exist_ok=True)
    return Resources(
        settings=settings,
        database_url=database_url,
        redis_url=redis_url,
        db=db,
        redis=create_redis(redis_url),
        queue=await create_queue(redis_url),
        embedded=embedded,
    )
