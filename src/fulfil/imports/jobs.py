"""The import job (`import_csv`) and the recovery sweep (`resume_imports`).

The job takes the uploaded file from the upload store as a file on this host's disk (store.py:
the local store's own file, or a spool copy of the database store's chunks) and reads it in a
thread (reader.py) that stays up to QUEUE_DEPTH batches ahead, so parsing the next batch overlaps
the database work of the current one. It holds a PostgreSQL
session lock on the job while it runs: a process killed mid-import loses its connection and with
it the lock, which is how the sweep, run at start-up and every few seconds, tells an orphaned job
from a running one and queues it again at once, without waiting for arq's in-progress key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import asyncpg

from fulfil.db import CONNECTION_LOST, dedicated_connection
from fulfil.imports import loader, queries
from fulfil.imports.progress import publish, snapshot_of
from fulfil.imports.reader import (
    Batch,
    Header,
    HeaderProblem,
    ImportFailed,
    check_file,
    read_batches,
    read_header,
)
from fulfil.imports.rejects import RejectsReport, rejects_key
from fulfil.imports.schemas import ImportSnapshot
from fulfil.imports.service import expire_previews, finish_import
from fulfil.imports.store import UploadStore, upload_store
from fulfil.orphans import requeue_orphans
from fulfil.queue import JobName
from fulfil.resources import Resources
from fulfil.validation import jsonb

log = logging.getLogger(__name__)

IMPORT_JOB = JobName("import_csv")
UNDO_JOB = JobName("undo_import")  # run by fulfil.imports.undo_run
JOB_NAMES = {"import": IMPORT_JOB, "undo": UNDO_JOB}  # by import_job.kind
QUEUE_DEPTH = 2  # parsed batches waiting for the database; bounds memory
MAX_ATTEMPTS = 5  # a file that kills its process this often is failed, not retried forever
SWEEP_SECONDS = 10
RECONNECT_FIRST_SECONDS = 0.2  # a run cut off by the database waits this long, doubling, before it resumes
RECONNECT_MAX_SECONDS = 2.0
QUEUED_GRACE_SECONDS = 10  # a queued job younger than this is still on its way into arq
UNCLAIMED_SECONDS = 24 * 3600  # a stored file no job names, older than this, is an abandoned upload


class _Pipe:
    """Hands items from the reader thread to the event loop, at most `depth` waiting at a time."""

    def __init__(self, depth: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.items: asyncio.Queue[Batch | BaseException] = asyncio.Queue()
        self.slots = threading.Semaphore(depth)
        self.closed = threading.Event()

    def fill(self, produce: Callable[[], Iterator[Batch]]) -> None:
        """Thread body: every batch, then the exception that ended the reading, if any."""
        try:
            for batch in produce():
                if not self._put(batch):
                    return
        except BaseException as exc:
            self._put(exc)

    def _put(self, item: Batch | BaseException) -> bool:
        while not self.slots.acquire(timeout=0.25):
            if self.closed.is_set():
                return False
        if self.closed.is_set():
            return False
        try:
            self.loop.call_soon_threadsafe(self.items.put_nowait, item)
        except RuntimeError:  # the event loop has closed
            return False
        return True

    async def get(self) -> Batch | BaseException:
        item = await self.items.get()
        self.slots.release()
        return item


class JobRun:
    """One run of one job on one connection (a resumed job is a new run from its checkpoint)."""

    def __init__(self, resources: Resources, conn: asyncpg.Connection, job_id: UUID) -> None:
        self.resources = resources
        self.db = resources.db
        self.conn = conn
        self.job_id = job_id

    async def _publish_row(self, row: Mapping[str, Any]) -> ImportSnapshot:
        snapshot = snapshot_of(row)
        await publish(self.resources.redis, snapshot)
        return snapshot

    async def finish(self, status: str, error: str | None = None) -> str:
        await finish_import(self.resources, self.job_id, status, error)
        return status

    async def claim(self, what: str) -> Mapping[str, Any] | str:
        """Take the job (running, one more attempt) and return its row; or, when it must not run,
        end it and return how it ended."""
        claimed = await self.db.fetch_one(queries.CLAIM_JOB, {"id": str(self.job_id)})
        if claimed is None:
            return "not pending"
        job = claimed._mapping
        await self._publish_row(job)
        if job["cancel_requested"]:
            return await self.finish("cancelled")
        if job["attempts"] > MAX_ATTEMPTS:
            message = f"The {what} was interrupted {job['attempts'] - 1} times (the service stopped while it ran)."
            return await self.finish("failed", message)
        return job


@dataclass(frozen=True)
class Reading:
    """The file a run reads and where it starts."""

    path: Path
    header: Header
    has_nul: bool
    start_byte: int
    start_line: int
    size: int

    def progress(self, rows: int, end_byte: int, elapsed: float, measured: bool) -> loader.Progress:
        """The rate and ETA after `rows` rows up to `end_byte`; none until `measured` (two batches in)."""
        if not measured:
            return loader.Progress(None, None)
        elapsed = max(elapsed, 1e-3)
        byte_rate = (end_byte - self.start_byte) / elapsed
        eta = (self.size - end_byte) / byte_rate if byte_rate > 0 else None
        return loader.Progress(round(rows / elapsed, 1), None if eta is None else round(eta, 1))


class ImportRun(JobRun):
    """A run of an import: the file, batch by batch, from the job's checkpoint."""

    async def run(self) -> str:
        job = await self.claim("import")
        if isinstance(job, str):
            return job
        key = job["file_path"]
        store = upload_store(self.resources.settings, self.db, key)
        if not await store.exists(key):
            message = f"The uploaded file ({job['filename']}) is no longer stored; upload it again."
            return await self.finish("failed", message)
        async with store.local_file(key) as path:
            return await self.read(job, path)

    async def _set_columns(
        self, columns: list[dict[str, str | None]], sample: list[list[str]] | None, fmt: str
    ) -> None:
        """What the header showed, in the snapshot: each column with its field (and the first rows)."""
        values = {
            "id": str(self.job_id),
            "columns": json.dumps(columns),
            "sample": None if sample is None else json.dumps(sample),
            "file_format": fmt,
        }
        row = await self.db.fetch_one(queries.SET_COLUMNS, values)
        assert row is not None  # the claimed job row exists
        await self._publish_row(row._mapping)

    async def read(self, job: Mapping[str, Any], path: Path) -> str:
        """Check the file, then load it from the start or from the job's checkpoint.

        A header that lacks the columns needed fails the job before any write, with the columns it
        has and the first rows in the snapshot (for a mapping form). A preview cut off runs again
        from the start: its counts rest on the SKUs met in the file, which only its connection held.
        """
        mapping = jsonb(job["mapping"])
        try:
            has_nul = await asyncio.to_thread(check_file, path)
            header = await asyncio.to_thread(read_header, path, mapping)
        except HeaderProblem as exc:
            await self._set_columns([{"column": c, "field": None} for c in exc.columns], exc.sample, "csv")
            return await self.finish("failed", str(exc))
        except ImportFailed as exc:
            return await self.finish("failed", str(exc))
        await self._set_columns(header.mapped(), None, header.file_format)
        report = job["rejects_path"] or rejects_key(str(self.job_id))
        rejects = RejectsReport(upload_store(self.resources.settings, self.db, report), report, header.columns)
        resumed = job["checkpoint_byte"] > 0
        dry_run = job["dry_run"]
        if resumed and dry_run:
            await self.conn.execute(queries.RESET_PREVIEW, self.job_id)
            await self.conn.execute(queries.DELETE_CHANGES, self.job_id)
            job = {**job, "checkpoint_line": 0, "checkpoint_byte": 0, "changes_sampled": 0}
            resumed = False
        if resumed:
            log.info("import %s resumes after line %d", self.job_id, job["checkpoint_line"])
        # Rows of a batch that never committed go (all of them when the first batch did not), or a
        # run cut off before its first commit would report them twice.
        await rejects.trim(job["checkpoint_line"])
        phase = await self.db.fetch_one(queries.SET_PHASE, {"id": str(self.job_id), "phase": "importing"})
        assert phase is not None  # the claimed job row exists
        await self._publish_row(phase._mapping)
        start_byte = job["checkpoint_byte"] if resumed else header.end_byte
        start_line = job["checkpoint_line"] if resumed else header.end_line
        plan = loader.Plan(job["mode"], keep_active=header.active is None, dry_run=dry_run)
        reading = Reading(path, header, has_nul, start_byte, start_line, job["bytes_total"])
        try:
            status = await self.load(reading, plan, rejects, resumed, job["changes_sampled"])
        except ImportFailed as exc:
            return await self.finish("failed", str(exc))
        return await self.finish(status, None)

    async def load(
        self, reading: Reading, plan: loader.Plan, rejects: RejectsReport, resumed: bool, sampled: int
    ) -> str:
        """Batches from the reader thread into the database until the file ends or a cancel.

        The rate and ETA appear from the second batch on: the first is parsed before any write
        waits for it, so its rate alone is far above what the import will keep up.
        """
        pipe = _Pipe(QUEUE_DEPTH)
        batch_rows = self.resources.settings.import_batch_rows

        def produce() -> Iterator[Batch]:
            return read_batches(
                reading.path,
                reading.header,
                start_byte=reading.start_byte,
                start_line=reading.start_line,
                batch_rows=batch_rows,
                has_nul=reading.has_nul,
                stop=pipe.closed,
            )

        thread = threading.Thread(target=pipe.fill, args=(produce,), name=f"import-{self.job_id}", daemon=True)
        thread.start()
        await loader.open_stage(self.conn, self.job_id, resumed=resumed)
        started, rows, batches, waited = time.monotonic(), 0, 0, 0.0
        try:
            while True:
                before = time.monotonic()
                item = await pipe.get()
                waited += time.monotonic() - before
                if isinstance(item, BaseException):
                    raise item
                rows += item.rows
                batches += 1
                progress = reading.progress(rows, item.end_byte, time.monotonic() - started, batches >= 2 or item.last)
                await rejects.append(item.rejects)
                row = await loader.commit_batch(
                    self.conn, self.job_id, item, plan=plan, progress=progress, sampled=sampled
                )
                sampled = row["changes_sampled"]
                snapshot = await self._publish_row(row)
                if row["cancel_requested"]:
                    return "cancelled"
                if item.last:
                    return "completed_with_errors" if snapshot.rejected else "completed"
        finally:
            pipe.closed.set()
            log.info(
                "import %s: %d rows in %.1f s, %.1f s of it waiting for the reader",
                self.job_id,
                rows,
                time.monotonic() - started,
                waited,
            )
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await loader.drop_stage(self.conn)


Runner = Callable[[Resources, asyncpg.Connection, UUID], Awaitable[str]]


async def import_csv(ctx: dict[str, Any], job_id: str) -> str:
    """The arq job: import one uploaded file, or resume it from its last committed batch."""

    async def run(resources: Resources, conn: asyncpg.Connection, uid: UUID) -> str:
        return await ImportRun(resources, conn, uid).run()

    return await run_resuming(ctx["resources"], job_id, run)


async def run_resuming(resources: Resources, job_id: str, run: Runner) -> str:
    """Run a job on a connection of its own, holding the job's lock, until it ends.

    When the database drops the connection (a failover, a restart) or is too full to open one, the
    run stops where it is and starts again, once the server answers, after the last batch that
    committed.
    """
    pause = RECONNECT_FIRST_SECONDS
    while True:
        try:
            return await _run_once(resources, job_id, run)
        except CONNECTION_LOST as exc:
            log.warning("job %s lost the database or was turned away (%r); resuming after its last batch", job_id, exc)
        await asyncio.sleep(pause)
        pause = min(pause * 2, RECONNECT_MAX_SECONDS)


async def _run_once(resources: Resources, job_id: str, run: Runner) -> str:
    uid = UUID(job_id)
    async with dedicated_connection(resources.database_url) as conn:
        # A session lock on the run's own connection: released below, or by PostgreSQL when the
        # connection goes (the process died, or the server dropped it).
        if not await conn.fetchval(queries.TRY_LOCK, job_id):
            return "already running elsewhere"
        try:
            return await run(resources, conn, uid)
        except CONNECTION_LOST:
            raise
        except Exception as exc:
            log.exception("import %s stopped unexpectedly", job_id)
            message = f"The import stopped on an unexpected error ({exc.__class__.__name__}); it has been logged."
            await finish_import(resources, uid, "failed", message)
            return "failed"
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await asyncio.wait_for(conn.execute(queries.UNLOCK_ALL), 5)


async def resume_imports(ctx: dict[str, Any], queued_grace: float = QUEUED_GRACE_SECONDS) -> int:
    """The sweep: queue again every unfinished job whose process is gone; returns how many.

    A queued job younger than `queued_grace` seconds is left to the upload that is queueing it.
    """
    resources: Resources = ctx["resources"]
    return await requeue_orphans(
        resources, queries.ORPHANED_JOBS, queued_grace, lambda row: JOB_NAMES[row["kind"]], "import"
    )


async def prune_import_history(ctx: dict[str, Any]) -> int:
    """Hourly: forget finished imports older than HISTORY_RETENTION_DAYS, with their rejects reports.

    Also drops the files of previews not confirmed within PREVIEW_TTL_HOURS, and removes stored
    files no job refers to (an upload whose process died before recording its job) and spool files
    a killed run left, once they are older than a day.
    """
    resources: Resources = ctx["resources"]
    store = upload_store(resources.settings, resources.db)
    await expire_previews(resources)
    await remove_unclaimed(resources, store)
    days = resources.settings.history_retention_days
    if not days:
        return 0
    rows = await resources.db.fetch_all(queries.PRUNE_JOBS, {"days": days})
    for row in rows:
        report = row["rejects_path"] or rejects_key(str(row["id"]))
        await upload_store(resources.settings, resources.db, report).remove(report)
    return len(rows)


async def remove_unclaimed(resources: Resources, store: UploadStore) -> int:
    """Remove stored files older than UNCLAIMED_SECONDS that no job names; returns how many."""
    await asyncio.to_thread(store.prune_spool, UNCLAIMED_SECONDS)
    keys = await store.stale(UNCLAIMED_SECONDS)
    if not keys:
        return 0
    rows = await resources.db.fetch_all(queries.CLAIMED_KEYS, {"keys": keys})
    claimed = {row["key"] for row in rows}
    unclaimed = [key for key in keys if key not in claimed]
    for key in unclaimed:
        await store.remove(key)
    return len(unclaimed)
