"""The Redis client used for progress snapshots and pub/sub (arq has its own pool, see queue.py)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    client: Redis = Redis.from_url(url, decode_responses=True, health_check_interval=30)
    return client
