"""The shapes the import API speaks: the progress snapshot, the upload and undo replies, the history page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.products.fields import FIELDS
from fulfil.validation import StrictModel, jsonb, no_control, text_pattern

Status = Literal["queued", "running", "completed", "completed_with_errors", "failed", "cancelled"]
FINAL_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
Mode = Literal["upsert", "create_only", "update_only"]
Field_ = Literal["sku", "name", "description", "active"]


COLUMN_MAX_CHARS = 200
_COLUMN = text_pattern(COLUMN_MAX_CHARS, required=True)
# The `mapping` option's JSON text, for the OpenAPI document: an object of one to four of our fields,
# each naming a column (a string without quotes, backslashes or control characters, not blank).
_KEY = '"(?:sku|name|description|active)"'
_VALUE = r'"\s*[^\s"\\\x00-\x1f\x7f-\x9f][^"\\\x00-\x1f\x7f-\x9f]{0,198}"'
_PAIR = rf"{_KEY}\s*:\s*{_VALUE}"
MAPPING_PATTERN = rf"^\s*\{{\s*{_PAIR}(?:\s*,\s*{_PAIR}){{0,3}}\s*\}}\s*$"


def clean_mapping(value: Any) -> dict[str, str]:
    """A mapping (our field → the file's column) as the import uses it; ValueError saying what is wrong.

    Only our fields as names, each a column name of 1..COLUMN_MAX_CHARS characters without control
    characters.
    """
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object of our field to the file\'s column, e.g. {"sku": "Item No."}')
    mapping: dict[str, str] = {}
    for name, column in value.items():
        if name not in FIELDS:
            raise ValueError(f"{str(name)[:40]!r} is not a field; map any of {', '.join(FIELDS)}")
        if not isinstance(column, str):
            raise ValueError(f"{name} must name a column (a string), not {type(column).__name__}")
        column = column.strip()
        if not column or len(column) > COLUMN_MAX_CHARS:
            raise ValueError(f"{name} must name a column of 1 to {COLUMN_MAX_CHARS} characters")
        no_control(column, name)
        mapping[name] = column
    if not mapping:
        raise ValueError("maps no field; name at least one, or leave the mapping out")
    return mapping


class ColumnMap(BaseModel):
    column: str = Field(description="a column of the file's header")
    field: Field_ | None = Field(description="the field it feeds; null when it is not imported")


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
    mode: Mode = Field("upsert", description="upsert, create_only (stored SKUs skipped) or update_only (new skipped)")
    dry_run: bool = Field(False, description="a preview: compared with the catalogue, no product written")
    mapping: dict[str, str] | None = Field(None, description="our field → the file's column, as given")
    file_format: Literal["csv", "shopify"] | None = Field(None, description="shopify: a Shopify product export")
    columns: list[ColumnMap] | None = Field(None, description="the header's columns and the field each feeds")
    sample_rows: list[list[str]] | None = Field(
        None, description="the first rows, when the header lacks a column the import needs (to map it)"
    )
    would_create: int = Field(0, description="preview: products its import would create")
    would_update: int = Field(0, description="preview: products its import would change")
    skipped: int = Field(0, description="rows left alone: by the mode, or with nothing to import (see skip_reasons)")
    skip_reasons: dict[str, int] = Field(default_factory=dict, description="why rows were skipped, with how many")
    duplicates_in_file: int = Field(0, description="rows overridden by a later row of the file with the same SKU")
    preview_of: UUID | None = Field(None, description="for an import confirmed from a preview: that preview")
    confirmed_by: UUID | None = Field(None, description="for a preview: the import that confirmed it")
    expired_at: datetime | None = Field(None, description="for a preview: when its file was dropped unconfirmed")

    @field_validator("mapping", "columns", "sample_rows", "skip_reasons", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        return jsonb(value)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class UploadQuery(BaseModel):
    filename: str | None = Field(None, max_length=255, description="the file's name, for a raw text/csv body")
    # Checked by imports.options (a 400 naming the option), as the same options may come as form fields.
    mode: str | None = Field(
        None,
        description="upsert (default), create_only or update_only; or a form field",
        json_schema_extra={"enum": ["upsert", "create_only", "update_only"]},
    )
    mapping: str | None = Field(
        None,
        description='JSON, our field → the file\'s column: {"sku": "Item No."}; or a form field',
        json_schema_extra={"pattern": MAPPING_PATTERN},
    )
    profile: str | None = Field(None, description="the name of a saved mapping (import profile); or a form field")
    dry_run: str | None = Field(
        None,
        description="true: a preview that writes no product, to confirm later; or a form field",
        json_schema_extra={"enum": ["true", "false"]},
    )


class UploadAccepted(BaseModel):
    job_id: UUID
    status: Status
    filename: str
    bytes_total: int
    progress_url: str
    stream_url: str
    rejects_url: str
    changes_url: str | None = Field(None, description="a preview's sample of changes")
    confirm_url: str | None = Field(None, description="POST here to import what a preview showed")


class Change(BaseModel):
    line: int = Field(description="the file's line of the row")
    sku: str
    action: Literal["create", "update"]
    fields: dict[str, dict[str, Any]] = Field(description="each changed field: {old, new}")


class ChangeList(BaseModel):
    """A preview's sample of changes (the first ones of the file, at most 100)."""

    job_id: UUID
    changes: list[Change]


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


# 1..100 characters, one line, no slash (the name is a path segment), not blank.
_PROFILE_NAME = r"^\s*[^\s/\x00-\x1f\x7f-\x9f](?:[^/\x00-\x1f\x7f-\x9f]{0,98}[^\s/\x00-\x1f\x7f-\x9f])?\s*$"


class ProfileBody(StrictModel):
    """A saved column mapping: its name (used as `profile=NAME`) and the mapping."""

    name: str = Field(pattern=_PROFILE_NAME, description="1..100 characters, one line, no slash")
    mapping: dict[Field_, Annotated[str, Field(pattern=_COLUMN)]] = Field(
        min_length=1, description='our field → the file\'s column: {"sku": "Item No."}'
    )

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, value: dict[str, str]) -> dict[str, str]:
        return clean_mapping(value)


class Profile(BaseModel):
    id: int
    name: str
    mapping: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @field_validator("mapping", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        return jsonb(value)


class ProfileList(BaseModel):
    profiles: list[Profile]
