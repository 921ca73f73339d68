"""The products API: list, read, create, update, delete one, delete all, bulk actions and their jobs.

Each route reads its input, calls the use-case in `service.py` and answers.
"""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fulfil.access.audit import actor_of
from fulfil.api import ApiRoute, app_resources, json_response, path_int, read_body, read_query
from fulfil.errors import ApiError
from fulfil.products import export, history, service
from fulfil.products.schemas import (
    BulkDeleteQuery,
    BulkDeleteResult,
    BulkJob,
    BulkResult,
    BulkSelection,
    BulkUpdate,
    HistoryList,
    HistoryQuery,
    Product,
    ProductCreate,
    ProductList,
    ProductQuery,
    ProductUpdate,
    SkuHistoryQuery,
)

TAG = "Products"


async def list_products(request: Request) -> JSONResponse:
    """Products matching every filter given, one page of them, and how many match in all."""
    query = read_query(request, ProductQuery)
    return json_response(await service.list_products(app_resources(request), query))


async def get_product(request: Request) -> JSONResponse:
    return json_response(await service.get_product(app_resources(request).db, path_int(request)))


async def create_product(request: Request) -> JSONResponse:
    body = await read_body(request, ProductCreate)
    return json_response(await service.create_product(app_resources(request), body, actor_of(request)), status=201)


async def update_product(request: Request) -> JSONResponse:
    product_id = path_int(request)
    body = await read_body(request, ProductUpdate)
    return json_response(await service.update_product(app_resources(request), product_id, body, actor_of(request)))


async def delete_product(request: Request) -> Response:
    await service.delete_product(app_resources(request), path_int(request), actor_of(request))
    return Response(status_code=204)


async def export_products(request: Request) -> Response:
    """The products the list's filters match (or the `ids` selected), in its sort, as a download:
    CSV streamed as it is read (`sku,name,description,active` unless `columns` says), or XLSX."""
    query = read_query(request, export.ExportQuery)
    if request.method == "HEAD":
        return export.head_response(query)
    return await export.export_response(app_resources(request).database_url, query)


async def product_history(request: Request) -> JSONResponse:
    """The product's changes, newest first; a deleted product's too (its id is still known)."""
    query = read_query(request, HistoryQuery)
    return json_response(await history.product_history(app_resources(request).db, path_int(request), query))


async def sku_history(request: Request) -> JSONResponse:
    """The changes of every product that had the SKU, deleted products included, newest first."""
    query = read_query(request, SkuHistoryQuery)
    return json_response(await history.sku_history(app_resources(request).db, query))


async def bulk_delete(request: Request) -> JSONResponse:
    """Nothing is deleted without `?confirm=true`."""
    if not read_query(request, BulkDeleteQuery).confirm:
        raise ApiError(
            400,
            "This deletes every product and cannot be undone; to confirm, repeat the request with ?confirm=true",
            details=[{"location": "query", "field": "confirm", "message": "must be true"}],
        )
    return json_response(BulkDeleteResult(deleted=await service.bulk_delete(app_resources(request), actor_of(request))))


def bulk_response(result: BulkResult) -> JSONResponse:
    """200 with the counts, or 202 when the action was queued as a job."""
    return json_response(result, status=202 if result.job is not None else 200)


async def bulk_delete_selected(request: Request) -> JSONResponse:
    """The products in `ids`, or every one `filter` matches, in batches; `dry_run` only counts."""
    body = await read_body(request, BulkSelection)
    return bulk_response(await service.bulk_action(app_resources(request), actor_of(request), body))


async def bulk_update_selected(request: Request) -> JSONResponse:
    """Set `active` on the products in `ids`, or on every one `filter` matches; `dry_run` only counts."""
    body = await read_body(request, BulkUpdate)
    resources = app_resources(request)
    return bulk_response(await service.bulk_action(resources, actor_of(request), body, set_active=body.set.active))


async def bulk_job(request: Request) -> JSONResponse:
    """A bulk job's progress: poll it until `status` is completed or failed."""
    raw = request.path_params["job_id"]
    try:
        job_id = UUID(raw)
    except ValueError:
        raise service.bulk_job_not_found(raw) from None
    return json_response(await service.get_bulk_job(app_resources(request).db, job_id))


routes: list[BaseRoute] = [
    ApiRoute(
        "/api/products/export",
        export_products,
        methods=["GET"],
        summary="Export the products a filter matches, or a selection, as CSV or XLSX",
        tag=TAG,
        query=export.ExportQuery,
        errors=(400, 422, 429),
        response_type="text/csv",
        other_response_types=(export.XLSX_TYPE,),
    ),
    ApiRoute(
        "/api/products/history",
        sku_history,
        methods=["GET"],
        summary="The history of the products that had a SKU, deleted ones included, newest first",
        tag=TAG,
        query=SkuHistoryQuery,
        response=HistoryList,
        errors=(422,),
    ),
    ApiRoute(
        "/api/products/{id:id}/history",
        product_history,
        methods=["GET"],
        summary="A product's history: every change, with who made it and from where, newest first",
        tag=TAG,
        query=HistoryQuery,
        response=HistoryList,
        errors=(404, 422),
    ),
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
        "/api/products/bulk-delete",
        bulk_delete_selected,
        methods=["POST"],
        summary="Delete the selection, or all a filter matches (dry_run: count only; over 10,000: a job)",
        tag=TAG,
        body=BulkSelection,
        response=BulkResult,
        also=(202,),
        errors=(400, 422),
    ),
    ApiRoute(
        "/api/products/bulk-jobs/{job_id}",
        bulk_job,
        methods=["GET"],
        summary="A bulk action's job (more than 10,000 products): its status and how many are done",
        tag=TAG,
        response=BulkJob,
        errors=(404,),
    ),
    ApiRoute(
        "/api/products/bulk-update",
        bulk_update_selected,
        methods=["POST"],
        summary="Set active on the selection, or on all a filter matches (dry_run: count only; over 10,000: a job)",
        tag=TAG,
        body=BulkUpdate,
        response=BulkResult,
        also=(202,),
        errors=(400, 422),
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
