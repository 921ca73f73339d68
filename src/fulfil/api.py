"""Small helpers every route uses: read and validate input, answer JSON, describe itself.

`ApiRoute` is a plain Starlette `Route` that also carries the pydantic models of its input and
output, so `openapi.py` can describe the API from the routes themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fulfil.errors import ApiError, validation_error
from fulfil.resources import Resources
from fulfil.state import app_state

Model = TypeVar("Model", bound=BaseModel)

# Far above any product or webhook (a description is at most 10,000 characters).
JSON_BODY_MAX_BYTES = 1024 * 1024


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
        errors: tuple[int, ...] = (),
        content_types: tuple[str, ...] = ("application/json",),
        response_type: str = "application/json",
    ) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.summary = summary
        self.tag = tag
        self.body = body
        self.query = query
        self.response = response
        self.status = status
        self.errors = errors
        self.content_types = content_types
        self.response_type = response_type


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
    """Parse the JSON body into `model`; a 400 for broken JSON, a 422 naming each bad field."""
    raw = await _body_bytes(request)
    if not raw.strip():
        raise ApiError(400, "The request body is empty; send a JSON object.")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"The request body is not valid JSON{position}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    try:  # "\ud800" alone is valid JSON but no character: PostgreSQL could not store it
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        escape, before = f"\\u{ord(exc.object[exc.start]):04x}", exc.object[max(exc.start - 20, 0) : exc.start]
        message = f"The request body holds {escape} (after {before!r}), half of a surrogate pair: no character."
        raise ApiError(400, message) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "body") from None


def read_query(request: Request, model: type[Model]) -> Model:
    """Validate query parameters into `model`; unknown parameters are a 422 so typos are caught."""
    params = dict(request.query_params)
    unknown = sorted(set(params) - set(model.model_fields))
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
    """The path's numeric `{id}`; anything else is a 404, as no such resource can exist."""
    raw = request.path_params["id"]
    if isinstance(raw, int):
        return raw
    if not str(raw).isdigit() or int(raw) > 2**63 - 1:
        raise ApiError(404, f"Nothing at {request.url.path}: {raw!r} is not a valid id (a whole number)")
    return int(raw)


def json_response(data: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> JSONResponse:
    if isinstance(data, BaseModel):
        return JSONResponse(data.model_dump(mode="json"), status_code=status)
    return JSONResponse(data, status_code=status)
