"""The transactional outbox: an event row written in the same transaction as the change.

Call `record_event` inside the transaction that changes the data, so the event exists exactly
when the change does; a relay turns events into deliveries after commit.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from fulfil import coalesce
from fulfil.db import Queries
from fulfil.queue import JobName, enqueue_many
from fulfil.resources import Resources
from fulfil.webhooks import queries

RELAY_JOB = JobName("relay_events")
RELAY_JOB_ID = "webhooks:relay"
# Nudges start at most this often: the relay takes every event committed before it runs, so one
# nudge per burst of writes is enough, and a write waits at most this much longer for its relay.
NUDGE_GAP_SECONDS = 0.01


def event_payload(event_type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The documented payload: `{"event", "timestamp", "data"}`, timestamp in seconds since the epoch;
    `extra` keys (such as `previous_attributes`) come after them, so receivers of the seed's keys see no change."""
    return {"event": event_type, "timestamp": round(time.time(), 3), "data": data, **extra}


async def record_event(db: Queries, event_type: str, data: dict[str, Any], **extra: Any) -> int:
    """Write one outbox event; run it inside the transaction of the change it announces."""
    payload = json.dumps(event_payload(event_type, data, **extra), default=str)
    event_id = await db.fetch_val(queries.INSERT_EVENT, {"event_type": event_type, "payload": payload})
    return int(event_id)


async def _nudge(resources: Resources) -> None:
    with contextlib.suppress(Exception):  # one round trip to Redis (enqueue_many's script, no WATCH)
        await enqueue_many(resources.queue, RELAY_JOB, [(RELAY_JOB_ID, ())])


async def relay_soon(resources: Resources) -> None:
    """After commit: ask the worker to turn new events into deliveries now, without waiting for Redis.

    Best effort by design: the request that made the change returns at once even when Redis is slow
    or unreachable, and events the nudge misses wait in the table for the periodic sweep. Nudges
    coalesce: while one is on its way to Redis, the writes meanwhile share a single next one.
    """
    coalesce.soon(resources.queue, RELAY_JOB_ID, lambda: _nudge(resources), gap=NUDGE_GAP_SECONDS)
