"""The rejects report: one CSV per job with each rejected row's line, the reason and its fields.

It lives in the upload store beside the upload, so any web process can serve it whichever worker
wrote it. Rows are appended just before their batch commits; a job resuming after a crash first
drops the rows past its checkpoint, so a batch that never committed is not reported twice.

The report is opened in spreadsheets, and its cells are the file's own text, so every cell that
would run as a formula (`=cmd|'/C calc'!A0`, `@SUM(A1)`) gets a single quote in front
(`fulfil.spreadsheet.inert`), header included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import anyio.to_thread

from fulfil.imports.store import UploadStore
from fulfil.spreadsheet import inert_csv

FIXED_COLUMNS = ["line", "reason"]

Reject = tuple[int, str, list[str]]  # line, reason, the row's fields


def rejects_key(job_id: str) -> str:
    """The key a job's rejects report is stored under."""
    return f"{job_id}.rejects.csv"


def _committed(data: bytes, last_line: int) -> bytes:
    """The report's header and the rows of lines up to `last_line`."""
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    return inert_csv([rows[0], *(row for row in rows[1:] if int(row[0]) <= last_line)]) if rows else b""


class RejectsReport:
    def __init__(self, store: UploadStore, key: str, columns: list[str]) -> None:
        self.store = store
        self.key = key
        self.columns = columns
        self.started = False  # whether the stored report has its header line

    async def trim(self, last_line: int) -> None:
        """Keep only the rows of committed batches (line <= `last_line`); call once before appending.

        Reads the report as it stands, as a resumed job must; the first run finds nothing.
        """
        data = b"".join([chunk async for chunk in self.store.chunks(self.key)])
        if not data:
            return
        kept = await anyio.to_thread.run_sync(_committed, data, last_line)
        await self.store.remove(self.key)
        if kept:
            await self.store.append(self.key, kept)
            self.started = True

    async def append(self, rejects: list[Reject]) -> None:
        if not rejects:
            return
        rows: list[Sequence[object]] = [] if self.started else [FIXED_COLUMNS + [c.strip() for c in self.columns]]
        rows.extend([line, reason, *fields] for line, reason, fields in rejects)
        await self.store.append(self.key, await anyio.to_thread.run_sync(inert_csv, rows))
        self.started = True
