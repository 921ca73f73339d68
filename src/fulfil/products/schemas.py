"""The API's product models, built on the field rules in `fields.py` (shared with the CSV import).

A product reads exactly as the documented webhook payload's `data`: id, sku, name, description, active,
created_at, updated_at, timestamps in ISO 8601 UTC. The same dump is the webhook event's `data`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.products.fields import (
    DESCRIPTION_MAX,
    NAME_MAX,
    SEARCH_MAX,
    SKU_MAX,
    clean_description,
    clean_name,
    clean_search,
    clean_sku,
)
from fulfil.validation import StrictModel, not_null, text_pattern

Sku = Annotated[
    str,
    AfterValidator(clean_sku),
    Field(
        description="Unique, case-insensitively; stored as typed",
        json_schema_extra={"pattern": text_pattern(SKU_MAX, required=True, one_line=True)},
    ),
]
Name = Annotated[
    str,
    AfterValidator(clean_name),
    Field(json_schema_extra={"pattern": text_pattern(NAME_MAX, required=True)}),
]
Description = Annotated[
    str | None,
    AfterValidator(clean_description),
    Field(
        description="Blank becomes null",
        json_schema_extra={"pattern": text_pattern(DESCRIPTION_MAX, required=False)},
    ),
]
SortKey = Literal[
    "id",
    "-id",
    "sku",
    "-sku",
    "name",
    "-name",
    "description",
    "-description",
    "active",
    "-active",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
]


def _search_rule(field: str) -> AfterValidator:
    """A contains-filter parameter goes through the shared `clean_search` rule."""
    return AfterValidator(lambda value: clean_search(value, field))


_CONTAINS = "Case-insensitive contains (the whole term, as a substring)"
_SEARCH_LENGTH = {"pattern": text_pattern(SEARCH_MAX, required=False)}
SkuFilter = Annotated[str | None, _search_rule("sku"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)]
NameFilter = Annotated[str | None, _search_rule("name"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)]
DescriptionFilter = Annotated[
    str | None, _search_rule("description"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)
]
AnyFilter = Annotated[
    str | None,
    _search_rule("q"),
    Field(
        description=_CONTAINS + ", in sku or name; a product whose SKU is exactly the term also comes as `sku_match`",
        json_schema_extra=_SEARCH_LENGTH,
    ),
]


class ProductCreate(StrictModel):
    """`POST /api/products`: sku and name required; description optional; active defaults to true."""

    sku: Sku
    name: Name
    description: Description = None
    active: StrictBool = True


class ProductUpdate(StrictModel):
    """`PUT /api/products/{id}`: the fields sent are changed, the ones left out stay as they are."""

    sku: Sku | None = None
    name: Name | None = None
    description: Description = None
    active: StrictBool | None = None

    _not_null = field_validator("sku", "name", "active", mode="before")(not_null)


class Product(BaseModel):
    """A stored product, as the API returns it and as webhook events carry it."""

    id: int
    sku: str
    name: str
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """Always UTC, so the JSON reads `...Z` whatever the session's time zone."""
        return value.astimezone(UTC)

    def event_data(self) -> dict[str, Any]:
        """The webhook payload's `data`: the same JSON the API returns."""
        return self.model_dump(mode="json")


TotalKind = Literal["exact", "about", "more_than"]


class ProductList(Page[Product]):
    """One page of products, the cursors to its neighbours, and how many match in all.

    Pages never depend on the total: `next_cursor` and `prev_cursor` (null at either end) reach
    every row. `total` is exact while few enough products match (`total_kind: "exact"`): up to
    10,000, or 1,000 with a text filter (`queries.COUNT_CAP`, `SEARCH_COUNT_CAP`). Past that an
    exact count would read every matching row on every page view, so without a text filter
    `total` is PostgreSQL's planner estimate (`"about"`, never below what was counted), and with
    one, whose estimate is a guess, it is the count reached (`"more_than"`).
    """

    page: int | None = Field(description="The page number asked for; null when paged by cursor")  # type: ignore[assignment]
    total_exact: bool
    total_kind: TotalKind
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last")
    prev_cursor: str | None = Field(description="Pass as `before` for the previous page; null on the first")
    search_indexed: bool = Field(
        description="Whether SKU and name searches use trigram indexes (pg_trgm); false: they read the table"
    )
    sku_match: Product | None = Field(
        description="The product whose SKU is exactly the `q` or `sku` term (any case), on the first page"
    )


class ProductFilter(StrictModel):
    """The list's filters, for `GET /api/products` and for the bulk actions' `filter`."""

    sku: SkuFilter = None
    name: NameFilter = None
    description: DescriptionFilter = None
    q: AnyFilter = None
    active: bool | None = Field(None, description="true or false; blank or left out: both")

    @field_validator("active", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())


_CURSOR: dict[str, Any] = {"maxLength": 1000}


class ProductQuery(ProductFilter, PageQuery):
    """`GET /api/products` parameters. Text filters are case-insensitive "contains" matches.

    Page by number (`page`) or by cursor (`after`, `before`, `last`), not both.
    """

    sort: SortKey = Field("id", description="A field, `-` in front for descending")
    page_size: int = page_size_field(50, 500)
    after: str | None = Field(None, description="A `next_cursor`: the page after it", json_schema_extra=_CURSOR)
    before: str | None = Field(None, description="A `prev_cursor`: the page before it", json_schema_extra=_CURSOR)
    last: bool = Field(False, description="true: the last page (the list's final `page_size` rows)")


def _confirm_required(schema: dict[str, Any]) -> None:
    """In the JSON schema: `confirm` must be sent, as true (left out or false, the route answers a 400)."""
    schema["required"] = ["confirm"]
    schema["properties"]["confirm"].pop("default")
    schema["properties"]["confirm"]["const"] = True


class BulkDeleteQuery(BaseModel):
    """`DELETE /api/products/bulk` parameters: nothing is deleted unless `confirm=true`."""

    model_config = ConfigDict(json_schema_extra=_confirm_required)

    confirm: bool = Field(False, description="Must be true: every product is deleted")


class BulkDeleteResult(BaseModel):
    deleted: int = Field(description="How many products were deleted")


BULK_IDS_MAX = 10_000


def _condition_required(schema: dict[str, Any]) -> None:
    """In the JSON schema: at least one condition, none null, no text condition blank (the API
    refuses an empty filter: everything is the admin's `DELETE /api/products/bulk`)."""
    schema["minProperties"] = 1
    for name, prop in schema["properties"].items():
        options = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
        prop.pop("default", None)
        prop.update(options[0])
        if name in TEXT_FILTER_NAMES:
            prop["pattern"] = text_pattern(SEARCH_MAX, required=True)


TEXT_FILTER_NAMES = ("sku", "name", "description", "q")


class BulkFilter(ProductFilter):
    """A bulk action's `filter`: the list's filter parameters, at least one of them."""

    model_config = ConfigDict(json_schema_extra=_condition_required)

    _not_null = field_validator("sku", "name", "description", "q", "active", mode="before")(not_null)


def _one_selection(schema: dict[str, Any]) -> None:
    """In the JSON schema: exactly one of `ids` and `filter`."""
    schema["oneOf"] = [{"required": ["ids"]}, {"required": ["filter"]}]


class BulkSelection(StrictModel):
    """Which products a bulk action takes: `ids` (a selection) or `filter` (all it matches), one of them."""

    model_config = ConfigDict(json_schema_extra=_one_selection)

    ids: list[Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, min_length=1, max_length=BULK_IDS_MAX, description="Product ids (unknown ones are skipped)"
    )
    filter: BulkFilter | None = Field(
        None, description="The list's filter parameters; at least one (everything: `DELETE /api/products/bulk`)"
    )
    dry_run: StrictBool = Field(False, description="true: change nothing, answer the counts only")

    _not_null = field_validator("ids", "filter", mode="before")(not_null)


class BulkSet(StrictModel):
    """What a bulk update sets."""

    active: StrictBool


class BulkUpdate(BulkSelection):
    """`POST /api/products/bulk-update`: the selection and the values to set on it."""

    set: BulkSet


BulkJobStatus = Literal["queued", "running", "completed", "failed"]


class BulkJob(BaseModel):
    """A bulk action too large for one batch, running as a job: how far it got.

    `affected` grows with each committed batch; the job ends `completed` (or `failed`, with
    `error`) once its summary event is written.
    """

    job_id: UUID
    action: Literal["delete", "update"]
    status: BulkJobStatus
    matched: int = Field(description="Products the filter matched when the job was asked for")
    affected: int = Field(description="Products deleted or changed so far")
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    progress_url: str = Field(description="Poll it (GET) for this object, up to date")

    @field_validator("created_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


class BulkResult(BaseModel):
    """What a bulk action matched and changed (or, in a dry run, would change).

    More than one batch (10,000 products) runs as a job: the reply is a 202 at once, with
    `affected` 0 and `job` saying where to follow it.
    """

    matched: int = Field(description="Products the selection or filter matches")
    affected: int = Field(description="Products deleted or changed (a dry run: that would be)")
    dry_run: bool
    job: BulkJob | None = Field(None, description="Set when the action runs as a job (202): poll job.progress_url")


class HistoryActor(BaseModel):
    """Who made a change: the user and the token they used (both null for the system)."""

    user_id: int | None
    email: str | None
    token_id: int | None


class HistoryEntry(BaseModel):
    """One change to one product: only `after` for a creation, only `before` for a deletion, and for
    an update the fields it changed on both sides."""

    id: int
    product_id: int
    sku: str = Field(description="The product's SKU after the change (before it, for a deletion)")
    action: Literal["created", "updated", "deleted"]
    source: Literal["api", "import", "bulk", "undo"]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
    job_id: UUID | None = Field(description="The import or undo job that made the change, if one did")
    actor: HistoryActor

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class HistoryList(Page[HistoryEntry]):
    """One page of history entries, newest first."""


class HistoryQuery(PageQuery):
    page_size: int = page_size_field(50, 500)


class SkuHistoryQuery(HistoryQuery):
    """`GET /api/products/history`: the SKU (whatever its case) of products, deleted ones included."""

    sku: Sku
