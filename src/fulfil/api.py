"""Small helpers every route uses: read and validate input, answer JSON, describe itself.

`ApiRoute` is a plain Starlette `Route` that also carries the pydantic models of its input and
output, so `openapi.py` can describe the API from the routes themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fulfil.errors import ApiError, validation_error
from fulfil.json_body import parse_object
from fulfil.resources import Resources
from fulfil.state import app_state

Model = TypeVar("Model", bound=BaseModel)

# Far above any product or webhook (a description is at most 10,000 characters).
JSON_BODY_MAX_BYTES = 1024 * 1024


class IdConvertor(Convertor[str]):
    """`{id:id}`: a path segment of ASCII digits, so `/api/products/bulk` is no product's path.

    The text is kept as it is: `path_int` turns it into a number, or a 404 past a bigint's range.
    """

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


class ApiRoute(Route):
    """A route with the metadata the OpenAPI document is built from."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: list[str],
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        also: tuple[int, ...] = (),
        errors: tuple[int, ...] = (),
        content_types: tuple[str, ...] = ("application/json",),
        response_type: str = "application/json",
        other_response_types: tuple[str, ...] = (),
    ) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.summary = summary
        self.tag = tag
        self.body = body
        self.query = query
        self.response = response
        self.status = status
        self.also = also  # other success statuses, answered with the same response model
        self.errors = errors
        self.content_types = content_types
        self.response_type = response_type
        # The same reply in other formats, chosen by a parameter (the export's `format`).
        self.other_response_types = other_response_types


async def _body_bytes(request: Request) -> bytes:
    """The body, read up to JSON_BODY_MAX_BYTES; uvicorn sets no limit, so a huge body is a 413, not all of RAM."""
    too_large = ApiError(
        413, f"The request body is larger than {JSON_BODY_MAX_BYTES // (1024 * 1024)} MB, the limit for a JSON body."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > JSON_BODY_MAX_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > JSON_BODY_MAX_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, model: type[Model]) -> Model:
    """Parse the JSON body into `model`; a 400 for a body that is not a JSON object, a 422 naming each bad field."""
    data = parse_object(await _body_bytes(request))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "body") from None


def read_query(request: Request, model: type[Model]) -> Model:
    """Validate query parameters into `model`; unknown parameters are a 422 so typos are caught."""
    params = dict(request.query_params)
    known = {field.alias or name for name, field in model.model_fields.items()}  # `for` is spelt `for_`
    unknown = sorted(set(params) - known)
    if unknown:
        details = [{"location": "query", "field": name, "message": "unknown parameter"} for name in unknown]
        raise ApiError(422, f"Unknown query parameter: {', '.join(unknown)}", details=details)
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc, "query") from None


def app_resources(request: Request) -> Resources:
    """The process's connections, opened by the app's lifespan."""
    return app_state(request.app).opened


def path_int(request: Request) -> int:
    """The path's `{id:id}` as a number; past a bigint's range it is a 404, as no such resource can exist."""
    raw = request.path_params["id"]
    if len(raw) > 19 or int(raw) > 2**63 - 1:
        raise ApiError(404, f"Nothing at {request.url.path}: {raw} is larger than any id")
    return int(raw)


def json_response(data: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> JSONResponse:
    if isinstance(data, BaseModel):
        return JSONResponse(data.model_dump(mode="json"), status_code=status)
    return JSONResponse(data, status_code=status)
