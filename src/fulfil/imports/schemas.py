"""The shapes the import API speaks: the progress snapshot, the upload and undo replies, the history page."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from fulfil.pagination import Page, PageQuery, page_size_field

Status = Literal["queued", "running", "completed", "completed_with_errors", "failed", "cancelled"]
FINAL_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})


class ImportSnapshot(BaseModel):
    """One job's state: the same JSON in the progress endpoint, Redis and every SSE event."""

    job_id: UUID
    filename: str
    status: Status
    phase: str = Field(description="what the job is doing, in a word: queued, checking, importing, finished, ...")
    bytes_total: int
    bytes_done: int
    rows_done: int
    rows_total: int | None = Field(description="null until the whole file has been read")
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows_per_second: float | None
    eta_seconds: float | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    version: int = Field(description="increases with every change; the SSE event id")
    kind: Literal["import", "undo"] = Field(description="an import of a file, or the undo of an earlier job")
    undoes: UUID | None = Field(description="for an undo: the job it takes back")
    undone_by: UUID | None = Field(description="the latest undo of this job, if there is one")
    restored: int = Field(description="undo: products given their earlier values back (or re-created)")
    deleted: int = Field(description="undo: products the undone job had created, deleted")
    conflicts: int = Field(description="undo: products left alone because they changed since")

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class UploadQuery(BaseModel):
    filename: str | None = Field(None, max_length=255, description="the file's name, for a raw text/csv body")


class UploadAccepted(BaseModel):
    job_id: UUID
    status: Status
    filename: str
    bytes_total: int
    progress_url: str
    stream_url: str
    rejects_url: str


class HistoryQuery(PageQuery):
    page_size: int = page_size_field(20, 100)


class ImportHistory(Page[ImportSnapshot]):
    """One page of the import history, newest first."""


class UndoQuery(BaseModel):
    force: bool = Field(False, description="Restore products that changed since the job too, overwriting those changes")


class UndoAccepted(BaseModel):
    job_id: UUID = Field(description="The undo's own job")
    undoes: UUID
    status: Status
    progress_url: str
    stream_url: str
    conflicts_url: str
