"""The products' use-cases: list, read, create, update, delete one, delete all.

Every change writes its webhook event (`fulfil.webhooks.outbox.record_event`) and its history
entry (`fulfil.products.history`) in the same transaction as the change, then nudges the relay
after commit. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import json

import asyncpg
from databases import Database

from fulfil.access.audit import Actor, write_audit
from fulfil.db import fetch_model
from fulfil.errors import ApiError
from fulfil.products import history, queries
from fulfil.products.schemas import Product, ProductCreate, ProductList, ProductQuery, ProductUpdate
from fulfil.resources import Resources
from fulfil.webhooks.outbox import record_event, relay_soon


def not_found(product_id: int) -> ApiError:
    return ApiError(404, f"No product with id {product_id}")


def sku_taken(sku: str, owner_id: int | None) -> ApiError:
    """The 409 for a SKU in use; `owner_id` None: its product was deleted since the write failed."""
    if owner_id is None:
        return ApiError(
            409,
            f"SKU {sku!r} was in use by a product deleted a moment ago; send the request again",
            details=[{"location": "body", "field": "sku", "message": "was in use; try again"}],
        )
    return ApiError(
        409,
        f"SKU {sku!r} is already used by product {owner_id} (SKUs are compared without regard to case)",
        details=[
            {"location": "body", "field": "sku", "message": f"already used by product {owner_id}", "id": owner_id}
        ],
    )


async def count_total(db: Database, sql: queries.ListSql) -> tuple[int, bool]:
    """(total, exact): exact up to the cap, else the planner's estimate (never below what was counted)."""
    counted = int(await db.fetch_val(sql.count, sql.params))
    if counted <= sql.cap:
        return counted, True
    plan = await db.fetch_val(sql.estimate, sql.params)
    return max(int(json.loads(plan)[0]["Plan"]["Plan Rows"]), counted), False


async def list_products(db: Database, query: ProductQuery) -> ProductList:
    """Products matching every filter given, one page of them, and how many match in all."""
    sql = queries.list_queries(query)
    rows = await db.fetch_all(sql.page, sql.page_params)
    total, exact = await count_total(db, sql)
    items = [Product.model_validate(dict(row._mapping)) for row in rows]
    return ProductList.of(items, query, total, total_exact=exact)


async def get_product(db: Database, product_id: int) -> Product:
    product = await fetch_model(db, queries.SELECT_PRODUCT, {"id": product_id}, Product)
    if product is None:
        raise not_found(product_id)
    return product


async def create_product(resources: Resources, body: ProductCreate, actor: Actor) -> Product:
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.INSERT_PRODUCT, body.model_dump())
        if row is None:
            raise sku_taken(body.sku, await db.fetch_val(queries.SELECT_SKU_OWNER, {"sku": body.sku, "id": 0}))
        product = Product.model_validate(dict(row._mapping))
        await record_event(db, "product.created", product.event_data())
        await history.record_change(db, actor, before=None, after=product)
    await relay_soon(resources)
    return product


async def record_update(db: Database, product_id: int, body: ProductUpdate, actor: Actor) -> tuple[Product, bool]:
    """Inside the caller's transaction: change the fields that differ, write `product.updated` and
    the history entry.

    Returns the product and whether anything changed (nothing changed: no write, no event).
    """
    row = await db.fetch_one(queries.SELECT_PRODUCT_FOR_UPDATE, {"id": product_id})
    if row is None:
        raise not_found(product_id)
    current = Product.model_validate(dict(row._mapping))
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if getattr(current, k) != v}
    if not changes:
        return current, False
    values = current.model_dump(include={"sku", "name", "description", "active"}) | changes
    row = await db.fetch_one(queries.UPDATE_PRODUCT, {**values, "id": product_id})
    assert row is not None  # locked above, so still there
    product = Product.model_validate(dict(row._mapping))
    await record_event(db, "product.updated", product.event_data())
    await history.record_change(db, actor, before=current, after=product)
    return product, True


async def update_product(resources: Resources, product_id: int, body: ProductUpdate, actor: Actor) -> Product:
    """The fields sent are changed, the others kept; a SKU another product has is a 409."""
    db = resources.db
    try:
        async with db.transaction():
            product, changed = await record_update(db, product_id, body, actor)
    except asyncpg.UniqueViolationError:
        sku = body.sku
        assert sku is not None  # only a new SKU can collide with another product's
        raise sku_taken(sku, await db.fetch_val(queries.SELECT_SKU_OWNER, {"sku": sku, "id": product_id})) from None
    if changed:
        await relay_soon(resources)
    return product


async def delete_product(resources: Resources, product_id: int, actor: Actor) -> Product:
    """Delete one product; returns it as it was."""
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.DELETE_PRODUCT, {"id": product_id})
        if row is None:
            raise not_found(product_id)
        product = Product.model_validate(dict(row._mapping))
        await record_event(db, "product.deleted", product.event_data())
        await history.record_change(db, actor, before=product, after=None)
    await relay_soon(resources)
    return product


async def bulk_delete(resources: Resources, actor: Actor) -> int:
    """Every product goes in one TRUNCATE, with one `product.bulk_deleted` event, a history entry per
    product (written first, from the locked table) and the audit row saying who did it.

    Returns how many were deleted; a 409 (`busy`) when an import holds the table too long.
    """
    try:
        async with resources.db.connection() as conn, conn.transaction():
            await conn.execute(queries.BULK_DELETE_LOCK_TIMEOUT)
            await conn.execute(queries.LOCK_PRODUCTS)
            deleted = int(await conn.fetch_val(queries.COUNT_PRODUCTS))
            await history.record_deleted(conn, actor)
            await conn.execute(queries.TRUNCATE_PRODUCTS)
            await record_event(conn, "product.bulk_deleted", {"count": deleted})
            await write_audit(conn, actor, "products.bulk_deleted", details={"deleted": deleted})
    except asyncpg.LockNotAvailableError:
        raise ApiError(
            409,
            "Products are being written right now (an import is probably running); try again when it finishes",
            code="busy",
        ) from None
    await relay_soon(resources)
    return deleted
