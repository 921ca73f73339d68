"""The transactional outbox: an event row written in the same transaction as the change.

Call `record_event` inside the transaction that changes the data, so the event exists exactly
when the change does; a relay turns events into deliveries after commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from databases.core import Connection, Database

from fulfil.queue import JobName, enqueue
from fulfil.resources import Resources
from fulfil.webhooks import queries

RELAY_JOB = JobName("relay_events")
RELAY_JOB_ID = "webhooks:relay"


def event_payload(event_type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The documented payload: `{"event", "timestamp", "data"}`, timestamp in seconds since the epoch;
    `extra` keys (such as `previous_attributes`) come after them, so receivers of the seed's keys see no change."""
    return {"event": event_type, "timestamp": round(time.time(), 3), "data": data, **extra}


async def record_event(db: Database | Connection, event_type: str, data: dict[str, Any], **extra: Any) -> int:
    """Write one outbox event; run it inside the transaction of the change it announces."""
    payload = json.dumps(event_payload(event_type, data, **extra), default=str)
    event_id = await db.fetch_val(queries.INSERT_EVENT, {"event_type": event_type, "payload": payload})
    return int(event_id)


# Nudges in flight; asyncio keeps only weak references to tasks, so they are held here until done.
_nudges: set[asyncio.Task[None]] = set()


async def _nudge(resources: Resources) -> None:
    with contextlib.suppress(Exception):
        await enqueue(resources.queue, RELAY_JOB, job_id=RELAY_JOB_ID)


async def relay_soon(resources: Resources) -> None:
    """After commit: ask the worker to turn new events into deliveries now, without waiting for Redis.

    Best effort by design: the request that made the change returns at once even when Redis is slow
    or unreachable, and events the nudge misses wait in the table for the periodic sweep.
    """
    task = asyncio.create_task(_nudge(resources))
    _nudges.add(task)
    task.add_done_callback(_nudges.discard)
