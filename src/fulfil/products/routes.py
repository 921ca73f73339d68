"""The products API: list, read, create, update, delete one, delete all.

Every change writes its webhook event (`fulfil.webhooks.outbox.record_event`) in the same
transaction as the change, then nudges the relay after commit.
"""

from __future__ import annotations

import json

import asyncpg
from databases import Database
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fulfil.api import ApiRoute, app_resources, json_response, path_int, read_body, read_query
from fulfil.errors import ApiError
from fulfil.products import queries
from fulfil.products.schemas import (
    BulkDeleteQuery,
    BulkDeleteResult,
    Product,
    ProductCreate,
    ProductList,
    ProductQuery,
    ProductUpdate,
)
from fulfil.webhooks.outbox import record_event, relay_soon

TAG = "Products"


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


async def list_products(request: Request) -> JSONResponse:
    """Products matching every filter given, one page of them, and how many match in all."""
    query = read_query(request, ProductQuery)
    db = app_resources(request).db
    sql = queries.list_queries(query)
    rows = await db.fetch_all(sql.page, sql.params)
    total, exact = await count_total(db, sql)
    items = [Product.model_validate(dict(row._mapping)) for row in rows]
    return json_response(
        ProductList(items=items, page=query.page, page_size=query.page_size, total=total, total_exact=exact)
    )


async def get_product(request: Request) -> JSONResponse:
    product_id = path_int(request)
    row = await app_resources(request).db.fetch_one(queries.SELECT_PRODUCT, {"id": product_id})
    if row is None:
        raise not_found(product_id)
    return json_response(Product.model_validate(dict(row._mapping)))


async def create_product(request: Request) -> JSONResponse:
    body = await read_body(request, ProductCreate)
    resources = app_resources(request)
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.INSERT_PRODUCT, body.model_dump())
        if row is None:
            raise sku_taken(body.sku, await db.fetch_val(queries.SELECT_SKU_OWNER, {"sku": body.sku, "id": 0}))
        product = Product.model_validate(dict(row._mapping))
        await record_event(db, "product.created", product.event_data())
    await relay_soon(resources)
    return json_response(product, status=201)


async def update_product(request: Request) -> JSONResponse:
    product_id = path_int(request)
    body = await read_body(request, ProductUpdate)
    resources = app_resources(request)
    db = resources.db
    try:
        async with db.transaction():
            row = await db.fetch_one(queries.SELECT_PRODUCT_FOR_UPDATE, {"id": product_id})
            if row is None:
                raise not_found(product_id)
            current = Product.model_validate(dict(row._mapping))
            changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if getattr(current, k) != v}
            if not changes:
                return json_response(current)
            values = current.model_dump(include={"sku", "name", "description", "active"}) | changes
            row = await db.fetch_one(queries.UPDATE_PRODUCT, {**values, "id": product_id})
            assert row is not None  # locked above, so still there
            product = Product.model_validate(dict(row._mapping))
            await record_event(db, "product.updated", product.event_data())
    except asyncpg.UniqueViolationError:
        sku = values["sku"]
        raise sku_taken(sku, await db.fetch_val(queries.SELECT_SKU_OWNER, {"sku": sku, "id": product_id})) from None
    await relay_soon(resources)
    return json_response(product)


async def delete_product(request: Request) -> Response:
    product_id = path_int(request)
    resources = app_resources(request)
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(queries.DELETE_PRODUCT, {"id": product_id})
        if row is None:
            raise not_found(product_id)
        await record_event(db, "product.deleted", Product.model_validate(dict(row._mapping)).event_data())
    await relay_soon(resources)
    return Response(status_code=204)


async def bulk_delete(request: Request) -> JSONResponse:
    """Every product goes in one TRUNCATE (instant at any size), with one `product.bulk_deleted` event."""
    if not read_query(request, BulkDeleteQuery).confirm:
        raise ApiError(
            400,
            "This deletes every product and cannot be undone; to confirm, repeat the request with ?confirm=true",
            details=[{"location": "query", "field": "confirm", "message": "must be true"}],
        )
    resources = app_resources(request)
    try:
        async with resources.db.connection() as conn, conn.transaction():
            await conn.execute(queries.BULK_DELETE_LOCK_TIMEOUT)
            await conn.execute(queries.LOCK_PRODUCTS)
            deleted = int(await conn.fetch_val(queries.COUNT_PRODUCTS))
            await conn.execute(queries.TRUNCATE_PRODUCTS)
            await record_event(conn, "product.bulk_deleted", {"count": deleted})
    except asyncpg.LockNotAvailableError:
        raise ApiError(
            409,
            "Products are being written right now (an import is probably running); try again when it finishes",
            code="busy",
        ) from None
    await relay_soon(resources)
    return json_response(BulkDeleteResult(deleted=deleted))


routes: list[BaseRoute] = [
    ApiRoute(
        "/api/products/bulk",
        bulk_delete,
        methods=["DELETE"],
        summary="Delete every product (needs ?confirm=true)",
        tag=TAG,
        query=BulkDeleteQuery,
        response=BulkDeleteResult,
        errors=(400, 409, 422),
    ),
    ApiRoute(
        "/api/products",
        list_products,
        methods=["GET"],
        summary="List products: filters, sort, pagination",
        tag=TAG,
        query=ProductQuery,
        response=ProductList,
        errors=(422,),
    ),
    ApiRoute(
        "/api/products",
        create_product,
        methods=["POST"],
        summary="Create a product",
        tag=TAG,
        body=ProductCreate,
        response=Product,
        status=201,
        errors=(400, 409, 422),
    ),
    ApiRoute(
        "/api/products/{id:id}",
        get_product,
        methods=["GET"],
        summary="Read one product",
        tag=TAG,
        response=Product,
        errors=(404,),
    ),
    ApiRoute(
        "/api/products/{id:id}",
        update_product,
        methods=["PUT"],
        summary="Update a product; fields left out stay as they are",
        tag=TAG,
        body=ProductUpdate,
        response=Product,
        errors=(400, 404, 409, 422),
    ),
    ApiRoute(
        "/api/products/{id:id}",
        delete_product,
        methods=["DELETE"],
        summary="Delete a product",
        tag=TAG,
        status=204,
        errors=(404,),
    ),
]
