"""Where an uploaded file and its rejects report live between the request and the job that reads them.

One small interface, `UploadStore`: `append` a chunk while receiving, `chunks` to read them back in
order, `remove` when the job ends. `LocalStore` keeps each file in a directory (one host, or a disk
every process shares); `DatabaseStore` keeps it in PostgreSQL as rows of about 1 MB
(`upload_chunk`), so web and worker processes on hosts with no disk in common reach the same file,
and a file outlives the web process that received it. Neither ever holds a whole file in memory.

The job's CSV reader wants a seekable file on its own disk: `local_file` gives it one (the local
store's own file; for any other store the chunks copied once into a spool file that goes at the
end of the run). Object storage (S3) would be one more class: each `append` one object under
`<key>/<seq>`, `chunks` those objects in order, `remove` a delete of the prefix.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import asyncpg
from databases import Database

from fulfil.settings import Settings

CHUNK_BYTES = 1 << 20  # what a writer gathers before each append; one row of upload_chunk

APPEND = """
INSERT INTO upload_chunk (key, seq, data)
SELECT $1, coalesce(max(seq) + 1, 0), $2 FROM upload_chunk WHERE key = $1
"""
NEXT_CHUNK = "SELECT seq, data FROM upload_chunk WHERE key = $1 AND seq > $2 ORDER BY seq LIMIT 1"
EXISTS = "SELECT EXISTS (SELECT 1 FROM upload_chunk WHERE key = $1)"
REMOVE = "DELETE FROM upload_chunk WHERE key = $1"
STALE = "SELECT key FROM upload_chunk WHERE seq = 0 AND created_at < now() - make_interval(secs => $1)"


def upload_key(job_id: str) -> str:
    """The key a job's uploaded file is stored under."""
    return f"{job_id}.csv"


class UploadStore(ABC):
    """Files written a chunk at a time and read back the same way, under a key such as `<job>.csv`."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool  # where `local_file` copies a file for the reader

    @abstractmethod
    async def append(self, key: str, data: bytes) -> None:
        """Add `data` at the end of the file `key` (created by its first append)."""

    @abstractmethod
    def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in order, a chunk at a time; nothing for a file that is not there."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def remove(self, key: str) -> None:
        """Delete the file; nothing happens when it is not there."""

    @abstractmethod
    async def stale(self, older_than_seconds: float) -> list[str]:
        """Keys of files begun longer ago than that, for the prune to drop those no job refers to."""

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        """The file on this host's disk for the length of the block: its chunks copied to a spool file.

        FileNotFoundError when there is no such file.
        """
        if not await self.exists(key):
            raise FileNotFoundError(key)
        await anyio.Path(self.spool).mkdir(parents=True, exist_ok=True)
        path = self.spool / f"{uuid.uuid4()}.spool"
        try:
            file = await anyio.open_file(path, "wb")
            async with file:
                async for chunk in self.chunks(key):
                    await file.write(chunk)
            yield path
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.Path(path).unlink(missing_ok=True)

    def prune_spool(self, older_than_seconds: float) -> None:
        """Remove spool files a process killed mid-import left behind (blocking: call it in a thread)."""
        if not self.spool.is_dir():
            return
        limit = time.time() - older_than_seconds
        for path in self.spool.glob("*.spool"):
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)


class LocalStore(UploadStore):
    """Files in one directory: for a single host, or processes that share that directory's disk.

    A key is a file name in the directory (an absolute path stays itself, as older jobs recorded).
    """

    def __init__(self, root: Path) -> None:
        super().__init__(root / "spool")
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    async def append(self, key: str, data: bytes) -> None:
        def write() -> None:
            with self.path(key).open("ab") as f:
                f.write(data)

        await anyio.to_thread.run_sync(write)

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        try:
            file = await anyio.open_file(self.path(key), "rb")
        except FileNotFoundError:
            return
        async with file:
            while chunk := await file.read(CHUNK_BYTES):
                yield chunk

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self.path(key)).is_file()

    async def remove(self, key: str) -> None:
        await anyio.Path(self.path(key)).unlink(missing_ok=True)

    async def stale(self, older_than_seconds: float) -> list[str]:
        limit = time.time() - older_than_seconds

        def old_files() -> list[str]:
            if not self.root.is_dir():
                return []
            return [p.name for p in self.root.iterdir() if p.is_file() and p.stat().st_mtime < limit]

        return await anyio.to_thread.run_sync(old_files)

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        """The store's own file: nothing to copy."""
        if not await self.exists(key):
            raise FileNotFoundError(key)
        yield self.path(key)


class DatabaseStore(UploadStore):
    """Files as rows of `upload_chunk` (key, seq, data) in the service's PostgreSQL.

    Each statement runs on the asyncpg connection under `databases`' pool (the task's own, when it
    holds one), so a megabyte of bytes never goes through SQLAlchemy's parameter handling.
    """

    def __init__(self, db: Database, spool: Path) -> None:
        super().__init__(spool)
        self.db = db

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.db.connection() as connection:
            yield connection.raw_connection

    async def append(self, key: str, data: bytes) -> None:
        async with self._conn() as conn:
            await conn.execute(APPEND, key, data)

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        seq = -1
        while True:
            async with self._conn() as conn:
                row = await conn.fetchrow(NEXT_CHUNK, key, seq)
            if row is None:
                return
            seq = row["seq"]
            yield row["data"]

    async def exists(self, key: str) -> bool:
        async with self._conn() as conn:
            return bool(await conn.fetchval(EXISTS, key))

    async def remove(self, key: str) -> None:
        async with self._conn() as conn:
            await conn.execute(REMOVE, key)

    async def stale(self, older_than_seconds: float) -> list[str]:
        async with self._conn() as conn:
            return [row["key"] for row in await conn.fetch(STALE, older_than_seconds)]


def upload_store(settings: Settings, db: Database, key: str | None = None) -> UploadStore:
    """The store UPLOAD_STORAGE names, or the one holding `key` when that says which.

    A key that is an absolute path was recorded by a job from before stores were configurable,
    when every upload was a file in UPLOAD_DIR: it stays readable there whatever the setting.
    """
    if settings.upload_storage == "local" or (key is not None and Path(key).is_absolute()):
        return LocalStore(settings.uploads_path)
    return DatabaseStore(db, settings.uploads_path / "spool")
