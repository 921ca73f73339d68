"""The OpenAPI 3.1 document, built from the app's own routes, and the offline docs pages.

Every `ApiRoute` in the running app (found by walking `app.routes`, mounts included) becomes an
operation; its pydantic models become `components.schemas`. `/docs` (Swagger UI) and `/redoc`
load their scripts from `web/vendor/`, never from a CDN, so the docs work without the internet;
their start-up scripts are files too (`web/docs.js`, `web/redoc.js`), as the Content-Security-Policy
allows no inline script.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.convertors import Convertor, FloatConvertor, IntegerConvertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from fulfil.api import ApiRoute, IdConvertor
from fulfil.state import app_state
from fulfil.validation import not_null

TITLE = "Fulfil-RK API"
REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer", "description": "An API token: `fk_…`"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "fulfil_session", "description": "The dashboard's"},
}
CSV_TEXT = r"^(?!GIF8|%PDF)[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class ErrorDetail(BaseModel):
    location: str
    field: str
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    """Every error: what went wrong, in a sentence, and the fields at fault."""

    error: ErrorInfo


def iter_api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, ApiRoute]]:
    """(full path, route) for every ApiRoute, descending into mounts."""
    for route in routes:
        if isinstance(route, ApiRoute):
            yield prefix + route.path_format, route
        elif isinstance(route, Mount):
            yield from iter_api_routes(route.routes, prefix + route.path)


def _app_version() -> str:
    try:
        return version("fulfil")
    except PackageNotFoundError:
        return "0.0.0"


def _path_schema(convertor: Convertor[Any]) -> dict[str, Any]:
    if isinstance(convertor, IdConvertor):
        return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer"}
    return {"type": "number" if isinstance(convertor, FloatConvertor) else "string"}


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(convertor)}
        for name, convertor in route.param_convertors.items()
    ]


def _never_null(model: type[BaseModel]) -> list[str]:
    """The fields a `not_null` validator guards: they may be left out, but never sent as null."""
    validators = model.__pydantic_decorators__.field_validators.values()
    return [name for validator in validators if validator.func is not_null for name in validator.info.fields]


def _drop_null(schema: dict[str, Any], names: Iterable[str]) -> None:
    """Describe the fields `names` of an object schema without their `null` option and its default."""
    for name in names:
        prop = schema["properties"][name]
        options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
        if prop.get("default", 0) is None:
            del prop["default"]
        prop.update(options[0] if len(options) == 1 else {"anyOf": options} if options else {})


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        # A parameter left out is how "no value" is sent: describe the value, not `anyOf [T, null]`.
        options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            prop = {**options[0], **prop}
        elif options:
            prop["anyOf"] = options
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append({**parameter, "schema": prop})
    return parameters


def _body_schema(content_type: str, ref: dict[str, Any] | None) -> dict[str, Any]:
    if ref is not None:
        return ref
    # Not empty (a 400), and text: no control characters, nor what a GIF or PDF starts with (a 415).
    file = {"type": "string", "contentMediaType": "text/csv", "minLength": 1, "pattern": CSV_TEXT}
    if content_type == "multipart/form-data":
        return {"type": "object", "required": ["file"], "properties": {"file": file}}
    return {**file, "contentMediaType": content_type}


def _error_codes(route: ApiRoute) -> list[int]:
    implied = {400, 413, 422} if route.body else set()
    # A JSON body sent as anything but application/json (fulfil.access.guard).
    implied |= {415} if route.body and route.content_types == ("application/json",) else set()
    implied |= {422} if route.query else set()
    return sorted(implied | set(route.errors))


ScopeOf = Callable[[str, str], str | None]
"""Who may call `method path`: a scope name, PUBLIC_SCOPE for anyone, None for nobody.

The access domain owns that table; the app hands it in, so this module stays below the domains."""

PUBLIC_SCOPE = "public"


def _security(scope: str | None, operation: dict[str, Any], error_ref: dict[str, Any]) -> dict[str, Any]:
    """The operation with who may call it: no credentials (public), or either scheme with `scope`."""
    if scope is None:
        return operation
    if scope == PUBLIC_SCOPE:
        return {**operation, "security": []}
    responses = dict(operation["responses"])
    for code in (401, 403):
        responses[str(code)] = {
            "description": HTTPStatus(code).phrase,
            "content": {"application/json": {"schema": error_ref}},
        }
    needs = f"Needs the `{scope}` scope."
    description = f"{operation['description']}\n\n{needs}" if "description" in operation else needs
    return {
        **operation,
        "description": description,
        "responses": dict(sorted(responses.items())),
        "security": [{"bearerToken": []}, {"sessionCookie": []}],
        "x-required-scope": scope,
    }


def build_document(routes: Iterable[BaseRoute], scope_of: ScopeOf) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every ApiRoute in `routes`, each with the scope it needs."""
    found = list(iter_api_routes(routes))
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for _, route in found:
        wanted += [(m, "validation") for m in (route.body, route.query) if m is not None]
        wanted += [(route.response, "serialization")] if route.response is not None else []
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    for model, mode in wanted:
        if mode == "validation":
            _drop_null(schemas[refs[(model, mode)]["$ref"].rsplit("/", 1)[1]], _never_null(model))
    error_ref = refs[(ErrorResponse, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    query_names: set[str] = set()
    operation_ids: set[str] = set()
    for path, route in found:
        parameters = _path_parameters(route)
        if route.query is not None:
            name = refs[(route.query, "validation")]["$ref"].rsplit("/", 1)[1]
            query_names.add(name)
            parameters += _query_parameters(schemas[name])
        responses: dict[str, Any] = {str(route.status): {"description": HTTPStatus(route.status).phrase}}
        reply_types = (route.response_type, *route.other_response_types)
        if route.response is not None:
            schema = refs[(route.response, "serialization")]
            responses[str(route.status)]["content"] = {t: {"schema": schema} for t in reply_types}
        elif route.status != 204:
            responses[str(route.status)]["content"] = {t: {"schema": {}} for t in reply_types}
        for code in route.also:
            responses[str(code)] = {**responses[str(route.status)], "description": HTTPStatus(code).phrase}
        for code in _error_codes(route):
            content = {"application/json": {"schema": error_ref}}
            responses[str(code)] = {"description": HTTPStatus(code).phrase, "content": content}
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        }
        description = inspect.getdoc(route.endpoint)
        if description:
            operation["description"] = description
        body_ref = refs[(route.body, "validation")] if route.body is not None else None
        if body_ref is not None or any(t != "application/json" for t in route.content_types):
            content = {t: {"schema": _body_schema(t, body_ref)} for t in route.content_types}
            operation["requestBody"] = {"required": True, "content": content}
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            operation_id = route.name if route.name not in operation_ids else f"{route.name}_{method.lower()}"
            operation_ids.add(operation_id)
            secured = _security(scope_of(method, path), operation, error_ref)
            paths.setdefault(path, {})[method.lower()] = {**secured, "operationId": operation_id}
    for name in query_names:  # described as parameters, not as a body
        schemas.pop(name, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": _app_version(),
            "description": "Products, CSV imports with live progress, and signed webhooks.",
        },
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


SWAGGER_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE} (Swagger UI)</title>
<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs.js" data-openapi="/openapi.json"></script>
</body>
</html>
"""

REDOC_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE} (ReDoc)</title>
<style>body {{ margin: 0; }}</style>
</head>
<body>
<div id="redoc"></div>
<script src="/vendor/redoc/redoc.standalone.js"></script>
<script src="/redoc.js" data-openapi="/openapi.json"></script>
</body>
</html>
"""


async def swagger_ui(request: Request) -> HTMLResponse:
    return HTMLResponse(SWAGGER_PAGE)


async def redoc(request: Request) -> HTMLResponse:
    return HTMLResponse(REDOC_PAGE)


def document_routes(scope_of: ScopeOf) -> list[BaseRoute]:
    """`/openapi.json` (built once per process from the routes the app has), `/docs` and `/redoc`."""

    async def openapi_json(request: Request) -> JSONResponse:
        """The OpenAPI 3.1 document."""
        state = app_state(request.app)
        if state.openapi is None:
            state.openapi = build_document(request.app.routes, scope_of)
        return JSONResponse(state.openapi)

    return [
        ApiRoute("/openapi.json", openapi_json, methods=["GET"], summary="The OpenAPI 3.1 document", tag="Docs"),
        Route("/docs", swagger_ui, methods=["GET"]),
        Route("/redoc", redoc, methods=["GET"]),
    ]
