"""The one JSON error shape: `{"error": {"code", "message", "details"}}`.

Routes raise `ApiError`; the handlers here turn it, Starlette's HTTP errors and anything
unexpected into that shape. The database or Redis out of reach is a 503 that says which; any
other failure is a 500, logged with its traceback, which never reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
import redis.exceptions
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the client can act on; `details` lists the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.details = details or []
        self.headers = headers


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


# pydantic's own messages ("Input should be greater than or equal to 1") in the words of ours,
# which name the field first ("timeout must be at least 1"); keyed by pydantic's error type.
_WORDED: dict[str, str] = {
    "missing": "{name} is required",
    "extra_forbidden": "{name} is not a field this request takes",
    "greater_than_equal": "{name} must be at least {ge}",
    "greater_than": "{name} must be more than {gt}",
    "less_than_equal": "{name} must be at most {le}",
    "less_than": "{name} must be less than {lt}",
    "int_type": "{name} must be a whole number",
    "int_parsing": "{name} must be a whole number",
    "int_from_float": "{name} must be a whole number",
    "float_type": "{name} must be a number",
    "float_parsing": "{name} must be a number",
    "bool_type": "{name} must be true or false",
    "bool_parsing": "{name} must be true or false",
    "string_type": "{name} must be a string",
    "string_too_short": "{name} must be at least {min_length} characters long",
    "string_too_long": "{name} must be at most {max_length} characters long",
    "too_short": "{name} must have at least {min_length} items",
    "too_long": "{name} must have at most {max_length} items",
    "list_type": "{name} must be a list",
    "dict_type": "{name} must be an object",
    "model_type": "{name} must be an object",
    "model_attributes_type": "{name} must be an object",
    "literal_error": "{name} must be one of {expected}",
    "enum": "{name} must be one of {expected}",
    "datetime_type": "{name} must be a date and time such as 2030-01-01T00:00:00Z",
    "datetime_parsing": "{name} must be a date and time such as 2030-01-01T00:00:00Z",
    "datetime_from_date_parsing": "{name} must be a date and time such as 2030-01-01T00:00:00Z",
}


def _worded(error: Mapping[str, Any], name: str) -> str:
    """The message of one pydantic error: ours as we raised it, else pydantic's put in our words."""
    template = _WORDED.get(error["type"])
    if template is None:
        message: str = error["msg"].removeprefix("Value error, ")
        return message if error["type"] == "value_error" else f"{name}: {message[:1].lower()}{message[1:]}"
    return template.format(name=name, **error.get("ctx", {}))


def validation_details(exc: ValidationError, location: str) -> list[dict[str, Any]]:
    """One entry per failing field: where it is (`body`, `query`), its name, and why, in a sentence
    that starts with the field's name (a list item's is its list's)."""
    details = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or location
        name = next((str(part) for part in reversed(error["loc"]) if isinstance(part, str)), location)
        details.append({"location": location, "field": field, "message": _worded(error, name)})
    return details


def validation_error(exc: ValidationError, location: str) -> ApiError:
    details = validation_details(exc, location)
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return ApiError(422, f"Invalid {location}: {summary}", details=details)


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.code, exc.details, exc.headers)


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route serves at the scope's path, looking inside mounts."""
    methods: set[str] = set()
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Route):
            methods |= route.methods or set()
        elif isinstance(route, Mount):
            methods |= allowed_methods(route.routes, {**scope, **child_scope})
    return methods


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's 404 and 405, in our shape, with an `Allow` header that lists every method of the path.

    Starlette stops at the first route whose path matches, and the dashboard's mount at `/` matches
    every path, so its 404 or 405 (`Allow: GET, HEAD`) would stand for an API path served by other
    methods: the routes are asked again here.
    """
    assert isinstance(exc, HTTPException)
    status, headers = exc.status_code, exc.headers
    if status in (404, 405):
        scope = {**request.scope, "root_path": request.scope.get("app_root_path", request.scope.get("root_path", ""))}
        allowed = allowed_methods(request.app.router.routes, scope)
        if allowed and request.method not in allowed:
            status, headers = 405, {"Allow": ", ".join(sorted(allowed))}
    messages = {
        404: f"No route matches {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }
    if headers and "Allow" in headers:
        messages[405] += f"; it takes {headers['Allow']}"
    message = messages.get(status) or str(exc.detail)
    return error_response(status, message, headers=headers)


async def handle_client_disconnect(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-body (a closed tab during an upload): nothing failed on our side."""
    log.info("%s %s: the client disconnected before sending the whole body", request.method, request.url.path)
    return error_response(400, "The client disconnected before the request body was complete.")


def _unreachable(exc: Exception) -> str:
    if isinstance(exc, redis.exceptions.RedisError):
        return "Redis"
    return "The database"


def unavailable_response(method: str, path: str, exc: Exception) -> JSONResponse:
    """A server we depend on cannot be reached: a 503 that says which, not a bare 500."""
    what = _unreachable(exc)
    log.error("%s %s: %s is unreachable: %r", method, path, what, exc)
    message = f"{what} is unreachable, so {method} {path} could not be served; try again shortly."
    return error_response(503, message)


async def handle_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return unavailable_response(request.method, request.url.path, exc)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, f"Something went wrong on our side with {request.method} {request.url.path}; it has been logged."
    )


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    ClientDisconnect: handle_client_disconnect,
    # The database refusing connections or dropping one (pool connects are refused when it is down).
    asyncpg.PostgresConnectionError: handle_unavailable,
    asyncpg.OperatorInterventionError: handle_unavailable,  # shutting down, starting, or our session ended
    asyncpg.InterfaceError: handle_unavailable,  # the connection closed under the query
    asyncpg.TooManyConnectionsError: handle_unavailable,  # a new pool connection turned away: the server is full
    ConnectionRefusedError: handle_unavailable,
    redis.exceptions.ConnectionError: handle_unavailable,
    redis.exceptions.TimeoutError: handle_unavailable,
    Exception: handle_unexpected,
}
