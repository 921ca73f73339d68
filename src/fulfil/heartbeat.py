"""Each job worker's heartbeat: a Redis key per process that runs jobs, for `fulfil status`.

Every process that runs jobs (`fulfil worker`, or `fulfil serve` with the in-process worker) keeps
a key of its own, renewed every HEARTBEAT_SECONDS and gone HEARTBEAT_TTL_SECONDS after the process
stops renewing it (a `kill -9` included), so the live keys are the live workers. arq's own
health-check key is one per queue and cannot tell two workers apart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from typing import Any

from redis.asyncio import Redis

from fulfil.queue import InProcessWorker

log = logging.getLogger(__name__)

WORKER_KEY_PREFIX = "fulfil:worker:"
HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL_SECONDS = 15


def process_id() -> str:
    """This process as the status names it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def heartbeat(redis: Redis, role: str, worker: InProcessWorker) -> None:
    """Renew this process's worker key while its job worker runs; remove it when the worker stops."""
    key = WORKER_KEY_PREFIX + process_id()
    started = time.time()
    assert worker.task is not None
    while worker.alive:
        beat = {"process": process_id(), "role": role, "started_at": started, "seen_at": time.time()}
        try:
            await redis.set(key, json.dumps(beat), ex=HEARTBEAT_TTL_SECONDS)
        except Exception as exc:  # Redis down: the worker copes on its own; the key simply lapses
            log.debug("worker heartbeat not written: %r", exc)
        await asyncio.wait([worker.task], timeout=HEARTBEAT_SECONDS)
    try:
        await redis.delete(key)
    except Exception as exc:
        log.debug("worker heartbeat not removed: %r", exc)


async def live_workers(redis: Redis) -> list[dict[str, Any]]:
    """The heartbeats of the processes running jobs now, oldest first."""
    keys = [key async for key in redis.scan_iter(match=WORKER_KEY_PREFIX + "*")]
    values = await redis.mget(keys) if keys else []
    beats = [json.loads(value) for value in values if value]
    return sorted(beats, key=lambda beat: (beat["started_at"], beat["process"]))
