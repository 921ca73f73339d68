"""When a webhook may be sent to next: its `max_per_second`, and a pause its receiver asked for.

Both live in Redis, so every worker process keeps to one rate and honours one pause. A rate is a
schedule of slots `1/max_per_second` apart: each attempt takes the next free slot (one Lua call,
on Redis's clock) and waits for it. A 429 with `Retry-After` pauses the webhook: no attempt to it,
from any worker, before the pause ends. An attempt whose slot is further off than `MAX_WAIT_SECONDS`
takes no slot and goes back to the queue for that long instead of holding its job.
"""

from __future__ import annotations

from redis.asyncio import Redis

MAX_WAIT_SECONDS = 5.0

# KEYS: the next free slot, the end of a pause (both microseconds on Redis's clock).
# ARGV: microseconds between slots (0: no rate), the longest wait to take a slot for.
# Returns the wait in microseconds, negative when it is longer than that (no slot taken).
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > at then at = paused end
local interval = tonumber(ARGV[1])
if interval > 0 then
    local free = tonumber(redis.call('GET', KEYS[1]) or '0')
    if free > at then at = free end
end
local wait = at - now
if wait > tonumber(ARGV[2]) then return -wait end
if interval > 0 then
    redis.call('SET', KEYS[1], string.format('%d', at + interval), 'PX', math.floor((wait + interval) / 1000) + 1000)
end
return wait
"""

# KEYS: the end of a pause. ARGV: its length in microseconds. Only ever extends a pause.
_PAUSE = """
local t = redis.call('TIME')
local until_at = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_at > current then
    redis.call('SET', KEYS[1], string.format('%d', until_at), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


def _keys(webhook_id: int) -> list[str]:
    return [f"fulfil:webhooks:{webhook_id}:next_slot", f"fulfil:webhooks:{webhook_id}:paused_until"]


async def take_slot(redis: Redis, webhook_id: int, max_per_second: int | None) -> float:
    """Seconds to wait before this attempt (a slot is taken), or a negative number: the wait is
    longer than MAX_WAIT_SECONDS, no slot was taken, and the attempt should be postponed by that much."""
    interval = round(1_000_000 / max_per_second) if max_per_second else 0
    limit = int(MAX_WAIT_SECONDS * 1_000_000)
    wait = await redis.eval(_TAKE_SLOT, 2, *_keys(webhook_id), str(interval), str(limit))  # type: ignore[misc]
    return int(wait) / 1_000_000


async def pause(redis: Redis, webhook_id: int, seconds: float) -> None:
    """No attempt to this webhook, from any worker, for `seconds` (a pause already longer stays)."""
    await redis.eval(_PAUSE, 1, _keys(webhook_id)[1], str(int(seconds * 1_000_000)))  # type: ignore[misc]
