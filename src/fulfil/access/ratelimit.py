"""Sign-in guessing is slowed: 5 failures per email or 20 per address in 15 minutes, then 429.

The counters live in Redis, so every process shares them; a fixed window starts at the first
failure. When Redis cannot be reached sign-in still works, counted in this process alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time

import redis.exceptions
from redis.asyncio import Redis

log = logging.getLogger(__name__)

WINDOW_SECONDS = 15 * 60
EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20
_KEY = "fulfil:signin:"


def limit_keys(email: str, address: str | None) -> list[tuple[str, int]]:
    """The counters one sign-in attempt touches and each one's limit (emails kept only as a hash)."""
    hashed = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    keys = [(f"{_KEY}email:{hashed}", EMAIL_LIMIT)]
    if address:
        keys.append((f"{_KEY}address:{address}", ADDRESS_LIMIT))
    return keys


class SignInLimiter:
    def __init__(self) -> None:
        # key -> (failures, monotonic time the window ends): used only while Redis is unreachable.
        self._local: dict[str, tuple[int, float]] = {}

    async def retry_after(self, client: Redis, keys: list[tuple[str, int]]) -> int | None:
        """Seconds until a sign-in may be tried again when a counter is at its limit, else None."""
        waits = []
        try:
            async with client.pipeline(transaction=False) as pipe:
                for key, _ in keys:
                    pipe.get(key)
                    pipe.ttl(key)
                replies = await pipe.execute()
            for (_, limit), count, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
                if count is not None and int(count) >= limit:
                    waits.append(max(int(ttl), 1))
        except redis.exceptions.RedisError as exc:
            log.warning("sign-in limit: Redis unreachable (%r); counting in this process", exc)
            now = time.monotonic()
            for key, limit in keys:
                count, until = self._local.get(key, (0, now))
                if count >= limit and until > now:
                    waits.append(math.ceil(until - now))
        return max(waits) if waits else None

    async def failed(self, client: Redis, keys: list[tuple[str, int]]) -> None:
        try:
            async with client.pipeline(transaction=True) as pipe:
                for key, _ in keys:  # the window starts with the first failure (SET NX), then counts
                    pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except redis.exceptions.RedisError:
            now = time.monotonic()
            for key, _ in keys:
                count, until = self._local.get(key, (0, now))
                if until <= now:
                    count, until = 0, now + WINDOW_SECONDS
                self._local[key] = (count + 1, until)

    async def succeeded(self, client: Redis, keys: list[tuple[str, int]]) -> None:
        """A good password clears its email's counter (the address keeps counting)."""
        email_key = keys[0][0]
        self._local.pop(email_key, None)
        with contextlib.suppress(redis.exceptions.RedisError):
            await client.delete(email_key)


# One per process: the fallback's counts are this process's own.
LIMITER = SignInLimiter()
