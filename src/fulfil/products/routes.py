"""The products API: list, read, create, update, delete one, delete all.

Each route reads its input, calls the use-case in `service.py` and answers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fulfil.access.audit import actor_of
from fulfil.api import ApiRoute, app_resources, json_response, path_int, read_body, read_query
from fulfil.errors import ApiError
from fulfil.products import service
from fulfil.products.schemas import (
    BulkDeleteQuery,
    BulkDeleteResult,
    Product,
    ProductCreate,
    ProductList,
    ProductQuery,
    ProductUpdate,
)

TAG = "Products"


async def list_products(request: Request) -> JSONResponse:
    """Products matching every filter given, one page of them, and how many match in all."""
    query = read_query(request, ProductQuery)
    return json_response(await service.list_products(app_resources(request).db, query))


async def get_product(request: Request) -> JSONResponse:
    return json_response(await service.get_product(app_resources(request).db, path_int(request)))


async def create_product(request: Request) -> JSONResponse:
    body = await read_body(request, ProductCreate)
    return json_response(await service.create_product(app_resources(request), body), status=201)


async def update_product(request: Request) -> JSONResponse:
    product_id = path_int(request)
    body = await read_body(request, ProductUpdate)
    return json_response(await service.update_product(app_resources(request), product_id, body))


async def delete_product(request: Request) -> Response:
    await service.delete_product(app_resources(request), path_int(request))
    return Response(status_code=204)


async def bulk_delete(request: Request) -> JSONResponse:
    """Nothing is deleted without `?confirm=true`."""
    if not read_query(request, BulkDeleteQuery).confirm:
        raise ApiError(
            400,
            "This deletes every product and cannot be undone; to confirm, repeat the request with ?confirm=true",
            details=[{"location": "query", "field": "confirm", "message": "must be true"}],
        )
    return json_response(BulkDeleteResult(deleted=await service.bulk_delete(app_resources(request), actor_of(request))))


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
