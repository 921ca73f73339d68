"""The products' SQL: plain parameterised strings, plus the one builder for the list's WHERE/ORDER BY.

The list is built only from the fixed fragments below (filters and sort keys are whitelisted);
user text only ever travels as a parameter, with LIKE wildcards escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fulfil.products.schemas import ProductQuery

COLUMNS = "id, sku, name, description, active, created_at, updated_at"

SELECT_PRODUCT = f"SELECT {COLUMNS} FROM product WHERE id = :id"

SELECT_PRODUCT_FOR_UPDATE = f"SELECT {COLUMNS} FROM product WHERE id = :id FOR UPDATE"

# DO NOTHING on the lower(sku) index: a taken SKU returns no row instead of aborting the transaction.
INSERT_PRODUCT = f"""
INSERT INTO product (sku, name, description, active)
VALUES (:sku, :name, :description, :active)
ON CONFLICT ((lower(sku))) DO NOTHING
RETURNING {COLUMNS}
"""

SELECT_SKU_OWNER = "SELECT id FROM product WHERE lower(sku) = lower(:sku) AND id <> :id"

UPDATE_PRODUCT = f"""
UPDATE product
SET sku = :sku, name = :name, description = :description, active = :active, updated_at = now()
WHERE id = :id
RETURNING {COLUMNS}
"""

DELETE_PRODUCT = f"DELETE FROM product WHERE id = :id RETURNING {COLUMNS}"

# Bulk delete: TRUNCATE needs an exclusive lock; an import batch holding the table makes us wait,
# and a queued exclusive lock would stall every reader behind it, so give up after a few seconds.
BULK_DELETE_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'"
LOCK_PRODUCTS = "LOCK TABLE product IN ACCESS EXCLUSIVE MODE"
COUNT_PRODUCTS = "SELECT count(*) FROM product"
TRUNCATE_PRODUCTS = "TRUNCATE product"

# Up to this many matching products `total` is an exact count; past it, the planner's estimate.
# Counting is cheap without a text filter (a sequential read) but a contains-filter rechecks each
# matching row on its heap page, so there the exact count stops sooner.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000

FILTERS = {
    "sku": "sku ILIKE :sku",
    "name": "name ILIKE :name",
    "description": "description ILIKE :description",
    "q": "(sku ILIKE :q OR name ILIKE :q OR description ILIKE :q)",
}

# Text sorts are case-insensitive (lower() has an index each); ties broken by id so pages never overlap.
SORTS = {
    "id": ("id",),
    "sku": ("lower(sku)",),  # unique, so no tie-breaker (and the unique index serves it)
    "name": ("lower(name)", "id"),
    "created_at": ("created_at", "id"),
    "updated_at": ("updated_at", "id"),
}


def contains_pattern(term: str) -> str:
    """An ILIKE pattern matching `term` anywhere; `%`, `_` and `\\` in the term match themselves."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_where(query: ProductQuery) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (or "") and its parameters for the query's filters, all combined with AND."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for field, clause in FILTERS.items():
        term = getattr(query, field)
        if term is not None:
            clauses.append(clause)
            params[field] = contains_pattern(term)
    if query.active is not None:
        clauses.append("active = :active")
        params["active"] = query.active
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def order_by(sort: str) -> str:
    direction = " DESC" if sort.startswith("-") else ""
    return ", ".join(key + direction for key in SORTS[sort.removeprefix("-")])


@dataclass(frozen=True)
class ListSql:
    """The statements of one `GET /api/products`: the page, a count that stops past `cap`, an estimate.

    `params` are the filters' (for the count and the estimate); `page_params` add the page's window.
    """

    page: str
    count: str
    estimate: str
    params: dict[str, Any]
    page_params: dict[str, Any]
    cap: int


def list_queries(query: ProductQuery) -> ListSql:
    where, params = list_where(query)
    cap = SEARCH_COUNT_CAP if any(getattr(query, field) is not None for field in FILTERS) else COUNT_CAP
    page = f"""
SELECT {COLUMNS} FROM product {where}
ORDER BY {order_by(query.sort)}
LIMIT :limit OFFSET :offset
"""
    return ListSql(
        page=page,
        count=f"SELECT count(*) FROM (SELECT 1 FROM product {where} LIMIT {cap + 1}) AS capped",
        estimate=f"EXPLAIN (FORMAT JSON) SELECT 1 FROM product {where}",
        params=params,
        page_params=params | query.window(),
        cap=cap,
    )
