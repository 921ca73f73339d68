"""Product history: one row per change to a product, written in the change's own transaction.

Each entry keeps the fields before and after (an update only the fields it changed; a creation
only `after`, a deletion only `before`), when, who (the user and token, copied so an entry outlives
them) and the source: `api`, `import`, `bulk` or `undo`. An import writes its entries inside its
batch upsert (fulfil.imports.queries), an undo with its batch and a bulk action in each batch's
statement (fulfil.products.queries, from the fragments here); the API's single changes and the
delete of every product call the functions here. Entries have no foreign key to the product, so
a deleted product's history stays readable by SKU.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from databases import Database
from databases.core import Connection

from fulfil.access.audit import Actor
from fulfil.db import Queries
from fulfil.products.fields import FIELDS
from fulfil.products.schemas import HistoryEntry, HistoryList, HistoryQuery, Product, SkuHistoryQuery

Source = Literal["api", "import", "bulk", "undo"]
WHOLE_ROW = "jsonb_build_object(" + ", ".join(f"'{f}', {f}" for f in FIELDS) + ")"

# What every entry is written with (`id`, `at` and `job_id` fill themselves), the actor as parameters.
_WRITTEN = "product_id, sku, action, source, before, after, actor_user_id, actor_token_id, actor"
_ACTOR_PARAMS = ":actor_user_id, :actor_token_id, :actor"

INSERT_ENTRY = f"""
INSERT INTO product_history ({_WRITTEN})
VALUES (:product_id, :sku, :action, :source, CAST(:before AS jsonb), CAST(:after AS jsonb), {_ACTOR_PARAMS})
"""


def entries_from(rows: str, action: str, before: str, after: str) -> str:
    """An INSERT of one `action` entry per row of `rows` (a table or a CTE with the product's
    columns), `before` and `after` being SQL over those columns; it takes `entry_params` (the
    source and the actor). A CTE of a bulk statement uses it so a
    batch's entries are written by the statement that changes the rows."""
    return f"""
INSERT INTO product_history ({_WRITTEN})
SELECT id, sku, '{action}', :source, {before}, {after}, {_ACTOR_PARAMS} FROM {rows}
"""


def deleted_entries(rows: str) -> str:
    """A `deleted` entry per row of `rows`, with the whole product as it was."""
    return entries_from(rows, "deleted", WHOLE_ROW, "NULL")


def active_changed_entries(rows: str) -> str:
    """An `updated` entry per row of `rows` (which has `active` and the value it had, `was_active`),
    keeping only that field."""
    return entries_from(
        rows, "updated", "jsonb_build_object('active', was_active)", "jsonb_build_object('active', active)"
    )


# Before every product goes: one `deleted` entry each, read from the locked table.
RECORD_ALL_DELETED = deleted_entries("product")

ENTRY_COLUMNS = "id, product_id, sku, action, source, before, after, at, job_id, actor_user_id, actor_token_id, actor"

PRODUCT_HISTORY = f"""
SELECT {ENTRY_COLUMNS} FROM product_history WHERE product_id = :product_id
ORDER BY id DESC LIMIT :limit OFFSET :offset
"""
COUNT_PRODUCT_HISTORY = "SELECT count(*) FROM product_history WHERE product_id = :product_id"

# Every product that ever had the SKU (a SKU can pass from a deleted product to a new one), with
# each one's whole history, its entries under earlier SKUs included.
_SKU_PRODUCTS = "SELECT product_id FROM product_history WHERE lower(sku) = lower(:sku)"
SKU_HISTORY = f"""
SELECT {ENTRY_COLUMNS} FROM product_history WHERE product_id IN ({_SKU_PRODUCTS})
ORDER BY id DESC LIMIT :limit OFFSET :offset
"""
COUNT_SKU_HISTORY = f"SELECT count(*) FROM product_history WHERE product_id IN ({_SKU_PRODUCTS})"

PRUNE = "DELETE FROM product_history WHERE at < now() - make_interval(days => :days)"


def entry_params(actor: Actor, source: Source) -> dict[str, Any]:
    """The parameters of a statement built with `entries_from`: who acted and from where."""
    return {"source": source, **actor.columns()}


def _fields(product: Product) -> dict[str, Any]:
    return product.model_dump(include=set(FIELDS))


async def record_change(
    db: Queries,
    actor: Actor,
    *,
    before: Product | None,
    after: Product | None,
    source: Source = "api",
) -> None:
    """One entry for one product's change; inside the change's transaction.

    `before` None is a creation, `after` None a deletion; an update keeps only the fields that differ.
    """
    old = _fields(before) if before else None
    new = _fields(after) if after else None
    if old is not None and new is not None:
        changed = [f for f in FIELDS if old[f] != new[f]]
        old, new = {f: old[f] for f in changed}, {f: new[f] for f in changed}
    product = after or before
    assert product is not None  # a change has at least one side
    action = "created" if before is None else "deleted" if after is None else "updated"
    values = {
        "product_id": product.id,
        "sku": product.sku,
        "action": action,
        "source": source,
        "before": None if old is None else json.dumps(old),
        "after": None if new is None else json.dumps(new),
    }
    await db.execute(INSERT_ENTRY, values | actor.columns())


async def record_deleted(db: Database | Connection, actor: Actor, source: Source = "bulk") -> None:
    """A `deleted` entry for every product, about to be deleted.

    Call it in the deleting transaction, before the delete, with the table locked.
    """
    await db.execute(RECORD_ALL_DELETED, entry_params(actor, source))


def _entry(row: Any) -> HistoryEntry:
    data = dict(row._mapping)
    for side in ("before", "after"):
        if isinstance(data[side], str):
            data[side] = json.loads(data[side])
    data["actor"] = {
        "user_id": data.pop("actor_user_id"),
        "token_id": data.pop("actor_token_id"),
        "email": data.pop("actor"),
    }
    return HistoryEntry.model_validate(data)


async def product_history(db: Database, product_id: int, query: HistoryQuery) -> HistoryList:
    """One product's entries, newest first (a product never created has none: an empty page)."""
    values = {"product_id": product_id}
    rows = await db.fetch_all(PRODUCT_HISTORY, values | query.window())
    total = int(await db.fetch_val(COUNT_PRODUCT_HISTORY, values))
    return HistoryList.of([_entry(row) for row in rows], query, total)


async def sku_history(db: Database, query: SkuHistoryQuery) -> HistoryList:
    """The entries of every product that had the SKU (compared without regard to case), newest first."""
    values = {"sku": query.sku}
    rows = await db.fetch_all(SKU_HISTORY, values | query.window())
    total = int(await db.fetch_val(COUNT_SKU_HISTORY, values))
    return HistoryList.of([_entry(row) for row in rows], query, total)


async def prune(db: Database, days: int) -> None:
    """Forget entries older than `days` (0: keep everything)."""
    if days:
        await db.execute(PRUNE, {"days": days})
