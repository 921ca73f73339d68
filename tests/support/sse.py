"""An SSE client for the import stream: read events until the server closes, resume with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from fulfil.imports.schemas import FINAL_STATUSES

Event = tuple[int, dict[str, Any]]


@dataclass
class Stream:
    """What one SSE client has read so far: the events (id, snapshot) and the comment lines."""

    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    reconnects: int = 0

    @property
    def ids(self) -> list[int]:
        return [event_id for event_id, _ in self.events]


async def read_stream(
    client: httpx.AsyncClient,
    job_id: str,
    *,
    last_event_id: int | None = None,
    stop_after: int | None = None,
    into: Stream | None = None,
) -> Stream:
    """Read the job's stream until the server closes it (or `stop_after` events), filling `into` as it goes."""
    stream = into or Stream()
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    event_id, data = None, None
    async with asyncio.timeout(30), client.stream("GET", f"/api/upload/{job_id}/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(":"):
                stream.comments.append(line)
            elif line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                data = json.loads(line[5:].strip())
            elif line == "" and data is not None:
                assert event_id is not None
                stream.events.append((event_id, data))
                event_id, data = None, None
                if stop_after and len(stream.events) >= stop_after:
                    break
    return stream


async def follow_to_end(client: httpx.AsyncClient, job_id: str, within: float = 60) -> Stream:
    """Read the stream to the job's final event, reconnecting with Last-Event-ID whenever it breaks,
    as a browser's EventSource does."""
    stream = Stream()
    async with asyncio.timeout(within):
        while not stream.events or stream.events[-1][1]["status"] not in FINAL_STATUSES:
            last = stream.ids[-1] if stream.events else None
            try:
                await read_stream(client, job_id, last_event_id=last, into=stream)
            except (httpx.TransportError, AssertionError):
                stream.reconnects += 1
                await asyncio.sleep(0.2)  # EventSource's retry pause
    return stream
