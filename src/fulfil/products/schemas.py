"""The API's product models, built on the field rules in `fields.py` (shared with the CSV import).

A product reads exactly as the seed's webhook payload `data`: id, sku, name, description, active,
created_at, updated_at, timestamps in ISO 8601 UTC. The same dump is the webhook event's `data`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

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
SortKey = Literal["id", "-id", "sku", "-sku", "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]


def _search_rule(field: str) -> AfterValidator:
    """A contains-filter parameter goes through the shared `clean_search` rule."""
    return AfterValidator(lambda value: clean_search(value, field))


_CONTAINS = "Case-insensitive contains"
_SEARCH_LENGTH = {"pattern": text_pattern(SEARCH_MAX, required=False)}
SkuFilter = Annotated[str | None, _search_rule("sku"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)]
NameFilter = Annotated[str | None, _search_rule("name"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)]
DescriptionFilter = Annotated[
    str | None, _search_rule("description"), Field(description=_CONTAINS, json_schema_extra=_SEARCH_LENGTH)
]
AnyFilter = Annotated[
    str | None,
    _search_rule("q"),
    Field(description=_CONTAINS + ", in sku, name or description", json_schema_extra=_SEARCH_LENGTH),
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


class ProductList(Page[Product]):
    """One page of products.

    `total` is exact while few enough products match (`total_exact: true`): up to 10,000, or
    1,000 with a text filter (`queries.COUNT_CAP`, `SEARCH_COUNT_CAP`). Past that an exact count
    would read every matching row on every page view (tens to hundreds of milliseconds at a
    million rows), so `total` is PostgreSQL's planner estimate (never below what was counted) and
    `total_exact` is false: enough for "about 16,800 products" and a pager.
    """

    total_exact: bool


class ProductQuery(PageQuery):
    """`GET /api/products` parameters. Text filters are case-insensitive "contains" matches."""

    sku: SkuFilter = None
    name: NameFilter = None
    description: DescriptionFilter = None
    q: AnyFilter = None
    active: bool | None = Field(None, description="true or false; blank or left out: both")
    sort: SortKey = Field("id", description="A field, `-` in front for descending")
    page_size: int = page_size_field(50, 500)

    @field_validator("active", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


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
