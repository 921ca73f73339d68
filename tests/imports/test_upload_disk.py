"""A slow disk under an upload holds up only that upload: the event loop goes on serving others.

The local store's writes are the ones that could block the loop (the database store's are
PostgreSQL's asynchronous I/O), so the test runs on the local store.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.support.imports import csv_bytes, upload, wait_final
from tests.support.waiting import eventually

STALL_SECONDS = 10  # how long the stalled write waits at most if nobody lets it go


class StalledDisk:
    """Wraps the upload's file: its first write blocks until `release` (or STALL_SECONDS pass)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.stalled = threading.Event()  # a write is waiting on the "disk"
        self.release = threading.Event()
        self.written = threading.Event()  # that write has ended

    def write(self, data: bytes) -> int:
        if not self.written.is_set():
            self.stalled.set()
            self.release.wait(STALL_SECONDS)
            self.written.set()
        return self.file.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def __enter__(self) -> StalledDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


@pytest.mark.parametrize("settings", ["local"], indirect=True)
async def test_other_requests_are_answered_while_an_upload_write_is_stalled(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    disks: list[StalledDisk] = []
    real_open = Path.open

    def open_on_a_slow_disk(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        file = real_open(self, mode, *args, **kwargs)
        if mode != "ab":  # only the upload being received
            return file
        disks.append(StalledDisk(file))
        return disks[-1]

    monkeypatch.setattr(Path, "open", open_on_a_slow_disk)
    content = csv_bytes([[f"SKU-{i}", f"Name {i}", "Description"] for i in range(50)])
    sending = asyncio.create_task(upload(client, content))
    await eventually(lambda: disks and disks[0].stalled.is_set())

    health = await client.get("/healthz")
    assert health.status_code == 200
    listing = await client.get("/api/products")
    assert listing.status_code == 200
    assert not disks[0].written.is_set(), "the other requests waited for the stalled write"
    assert not sending.done()

    disks[0].release.set()
    reply = await sending
    assert (await wait_final(client, reply["job_id"]))["created"] == 50
