"""Import progress: the snapshot, its Redis copy and channel, and the SSE stream built on them.

The job row is the truth. After every change the job writes the snapshot to a Redis key (read by
the progress endpoint and by each new stream) and publishes it on one channel. Each process has
ONE subscription to that channel (`ProgressHub`, started by the app's lifespan) that hands every
message to the streams watching its job, so 1,000 browsers cost one Redis connection, not 1,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from uuid import UUID

import anyio
from redis.asyncio import Redis
from sse_starlette.event import ServerSentEvent

from fulfil.imports import queries
from fulfil.imports.schemas import FINAL_STATUSES, ImportSnapshot
from fulfil.resources import Resources

log = logging.getLogger(__name__)

CHANNEL = "fulfil:import:progress"
SNAPSHOT_TTL_SECONDS = 7 * 24 * 3600
HEARTBEAT_SECONDS = 10
# A stream re-reads the job row when nothing arrived for this long, in case a message was lost
# (the subscription was reconnecting, or Redis refused the update).
REPOLL_SECONDS = 10
RECONNECT_SECONDS = 1.0


def snapshot_key(job_id: UUID | str) -> str:
    return f"fulfil:import:{job_id}"


def snapshot_of(row: Mapping[str, Any]) -> ImportSnapshot:
    """The snapshot from a job row (a `databases` or asyncpg record holding SNAPSHOT_COLUMNS)."""
    return ImportSnapshot.model_validate({name: row[name] for name in ImportSnapshot.model_fields})


async def publish(redis: Redis, snapshot: ImportSnapshot) -> None:
    """Copy the snapshot to Redis and announce it. Best effort: the job row stays the truth."""
    data = snapshot.model_dump_json()
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(snapshot_key(snapshot.job_id), data, ex=SNAPSHOT_TTL_SECONDS)
            pipe.publish(CHANNEL, data)
            await pipe.execute()
    except Exception as exc:
        log.warning("could not publish progress of import %s: %r", snapshot.job_id, exc)


async def load_snapshot(resources: Resources, job_id: UUID, *, fresh: bool = False) -> ImportSnapshot | None:
    """The latest snapshot: Redis's copy (unless `fresh`), else the job row, which is the truth.

    A stream opens from Redis (1,000 browsers opening at once cost no queries); anything that must
    not trust a copy whose update may have failed reads the row.
    """
    if not fresh:
        with contextlib.suppress(Exception):
            data = await resources.redis.get(snapshot_key(job_id))
            if data:
                return ImportSnapshot.model_validate_json(data)
    row = await resources.db.fetch_one(queries.GET_SNAPSHOT, {"id": job_id})
    return snapshot_of(row._mapping) if row else None


def encode_event(version: int, data: str) -> bytes:
    return ServerSentEvent(data=data, id=str(version)).encode()


class Mailbox:
    """The latest event for one stream; newer ones replace older ones a slow client has not taken."""

    __slots__ = ("changed", "event", "final", "version")

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.version = -1
        self.event = b""
        self.final = False

    def offer(self, version: int, event: bytes, final: bool) -> None:
        if version > self.version:
            self.version, self.event, self.final = version, event, final
            self.changed.set()


class ProgressHub:
    """This process's one subscription to the progress channel, fanned out to its streams."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.watchers: dict[str, set[Mailbox]] = {}
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._listen(), name="import-progress-hub")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    @contextlib.contextmanager
    def watch(self, job_id: UUID) -> Iterator[Mailbox]:
        """Receive the job's snapshots while inside; leaving needs no await (safe in a cancelled stream)."""
        key, box = str(job_id), Mailbox()
        self.watchers.setdefault(key, set()).add(box)
        try:
            yield box
        finally:
            boxes = self.watchers.get(key)
            if boxes is not None:
                boxes.discard(box)
                if not boxes:
                    del self.watchers[key]

    def dispatch(self, data: str) -> None:
        """One published snapshot to every stream of its job, encoded once for all of them."""
        try:
            fields = json.loads(data)
            job_id, version, final = fields["job_id"], int(fields["version"]), fields["status"] in FINAL_STATUSES
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a message on %s that is not an import snapshot: %.80r", CHANNEL, data)
            return
        boxes = self.watchers.get(job_id)
        if not boxes:
            return
        event = encode_event(version, data)
        for box in boxes:
            box.offer(version, event, final)

    async def _catch_up(self) -> None:
        """After (re)subscribing: hand every watched job its latest snapshot, in case one was missed."""
        for job_id in list(self.watchers):
            data = await self.redis.get(snapshot_key(job_id))
            if data:
                self.dispatch(data)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._catch_up()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("import progress subscription lost (%r); reconnecting", exc)
                await asyncio.sleep(RECONNECT_SECONDS)


async def event_stream(
    hub: ProgressHub, resources: Resources, job_id: UUID, last_event_id: int, shutdown: anyio.Event
) -> AsyncIterator[bytes]:
    """The SSE body: the current snapshot (unless the client has it), then each newer one, until final.

    Watching starts before the snapshot is read, so no change between the two is lost. Event ids
    are the job's version, so `Last-Event-ID` skips what the client has already seen. Ends early
    when `shutdown` is set (the server is stopping), so the response ends properly and the
    browser reconnects to whichever process serves it next.
    """
    with hub.watch(job_id) as box:
        waking = asyncio.create_task(_wake_on(shutdown, box))
        try:
            sent, opening = last_event_id, True
            while not shutdown.is_set():
                if not box.changed.is_set():
                    try:
                        latest = await load_snapshot(resources, job_id, fresh=not opening)
                    except Exception as exc:
                        # A re-read is only a safety net: a passing database error must not cut the
                        # browser's stream; the next message or re-read brings it up to date.
                        log.warning("could not re-read progress of import %s: %r", job_id, exc)
                        latest = None
                    opening = False
                    if latest is not None:
                        event = encode_event(latest.version, latest.model_dump_json())
                        box.offer(latest.version, event, latest.final)
                box.changed.clear()
                if box.version > sent:
                    sent = box.version
                    yield box.event
                if box.final:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(box.changed.wait(), REPOLL_SECONDS)
        finally:
            waking.cancel()  # no await here: this may run in a cancelled generator


async def _wake_on(shutdown: anyio.Event, box: Mailbox) -> None:
    """Wake the stream waiting on `box` when the server stops."""
    await shutdown.wait()
    box.changed.set()
