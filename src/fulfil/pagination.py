"""One way to page a list: the `page`/`page_size` query, the page reply, and its LIMIT/OFFSET.

Every list bounds `page` the same way, so `(page - 1) * page_size` always fits PostgreSQL's
bigint OFFSET and a huge page number is a 422 naming `page`, not a database error. Each list
sets its own `page_size` default and limit with `page_size_field`.
"""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, Field

# Far past any page a person pages to; with the largest page size the OFFSET stays near 1e9.
PAGE_MAX = 1_000_000

Item = TypeVar("Item")


def page_size_field(default: int, maximum: int) -> Any:
    """The `page_size` field of one list: from 1 to `maximum`, `default` when left out."""
    return Field(default, ge=1, le=maximum)


class PageQuery(BaseModel):
    """`page` (from 1) and `page_size`; a list's query model subclasses it, setting `page_size`."""

    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = page_size_field(50, 500)

    def window(self) -> dict[str, int]:
        """The `:limit` and `:offset` parameters of this page."""
        return {"limit": self.page_size, "offset": (self.page - 1) * self.page_size}


class Page(BaseModel, Generic[Item]):
    """One page of a list and how many items the whole list has."""

    items: list[Item]
    page: int
    page_size: int
    total: int

    @classmethod
    def of(cls, items: list[Item], query: PageQuery, total: int, **extra: Any) -> Self:
        """The reply for `query`'s page; `extra` carries a list's own fields (such as `total_exact`)."""
        return cls(items=items, page=query.page, page_size=query.page_size, total=total, **extra)
