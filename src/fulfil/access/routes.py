"""The access API: sign-in and sign-out, the first-admin setup, the caller, tokens, users and audit.

Every route here is in the route table (`fulfil.access.table`) like any other; sign-in, sign-out
and setup are public, the rest need a signed-in caller.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fulfil.access import service
from fulfil.access.audit import actor_of, client_address
from fulfil.access.backend import SESSION_COOKIE, Caller, caller_of
from fulfil.access.roles import granted_scopes
from fulfil.access.schemas import (
    AccessQuery,
    AuditList,
    AuditQuery,
    Me,
    SetupRequest,
    SignIn,
    TokenCreate,
    TokenCreated,
    TokenList,
    User,
    UserCreate,
    UserList,
    UserUpdate,
)
from fulfil.api import ApiRoute, app_resources, json_response, path_int, read_body, read_query

TAG = "Access"


def signed_in(request: Request) -> Caller:
    caller = caller_of(request)
    assert caller is not None  # the route table lets only signed-in callers here
    return caller


def me_reply(caller: Caller, scopes: list[str], csrf_token: str | None) -> Me:
    fields = {"id": caller.id, "email": caller.email, "role": caller.role, "via": caller.via}
    return Me.model_validate({**fields, "scopes": scopes, "csrf_token": csrf_token})


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    settings = app_resources(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.production,
    )


async def session_reply(request: Request, user: User, status: int) -> JSONResponse:
    """Start a session for `user`: the cookie, and the caller as GET /api/auth/me would answer."""
    session = await service.start_session(app_resources(request).db, user.id, client_address(request))
    caller = Caller(user.id, user.email, user.role, session_id=session.session_id, csrf_token=session.csrf_token)
    response = json_response(me_reply(caller, granted_scopes(user.role, None), session.csrf_token), status=status)
    set_session_cookie(request, response, session.secret)
    return response


async def sign_in(request: Request) -> Response:
    """Start a dashboard session: sets the session cookie and answers the user and its CSRF token.

    After 5 failures for one email or 20 from one address within 15 minutes: 429 with Retry-After.
    """
    body = await read_body(request, SignIn)
    user = await service.sign_in(app_resources(request), body.email, body.password, actor_of(request))
    return await session_reply(request, user, 200)


async def sign_out(request: Request) -> Response:
    """End this browser's session (if any) and clear its cookie; 204 either way."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await service.end_session(app_resources(request).db, cookie, actor_of(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def setup(request: Request) -> Response:
    """Create the first admin with the one-time token of the setup link logged at start, and sign in."""
    body = await read_body(request, SetupRequest)
    db = app_resources(request).db
    user = await service.complete_setup(db, body.token, body.email, body.password, actor_of(request))
    return await session_reply(request, user, 201)


async def me(request: Request) -> Response:
    """The signed-in caller, its scopes and (for a session) the CSRF token its writes must carry."""
    caller = signed_in(request)
    return json_response(me_reply(caller, list(request.auth.scopes), caller.csrf_token))


def own_tokens_of(request: Request) -> int | None:
    """Whose tokens the caller may see and revoke: their own, or (None) everyone's for an admin."""
    return None if "admin" in request.auth.scopes else signed_in(request).id


async def list_tokens(request: Request) -> Response:
    """Your tokens (an admin sees every user's), newest first; revoked ones are not listed."""
    query = read_query(request, AccessQuery)
    return json_response(await service.list_tokens(app_resources(request).db, query, own_tokens_of(request)))


async def create_token(request: Request) -> Response:
    """A new token for you, shown once; its scopes never exceed what your role (or this token) allows."""
    body = await read_body(request, TokenCreate)
    caller = signed_in(request)
    ceiling = list(request.auth.scopes) if caller.token_id is not None else None
    scopes = service.allowed_token_scopes(caller.role, body.scopes, ceiling)
    db = app_resources(request).db
    created = await service.create_token(db, caller.id, body.name, scopes, body.expires_at, actor_of(request))
    return json_response(created, status=201)


async def revoke_token(request: Request) -> Response:
    """Revoke a token (yours, or any for an admin): it stops working at once."""
    db = app_resources(request).db
    await service.revoke_token(db, path_int(request), own_tokens_of(request), actor_of(request))
    return Response(status_code=204)


async def list_users(request: Request) -> Response:
    query = read_query(request, AccessQuery)
    return json_response(await service.list_users(app_resources(request).db, query))


async def create_user(request: Request) -> Response:
    body = await read_body(request, UserCreate)
    db = app_resources(request).db
    user = await service.create_user(db, body.email, body.password, body.role, actor_of(request))
    return json_response(user, status=201)


async def update_user(request: Request) -> Response:
    """Change a user's role, disable or enable them, or set a new password (which, like disabling,
    ends their sessions and revokes their tokens). The last enabled admin stays one (409)."""
    user_id = path_int(request)
    body = await read_body(request, UserUpdate)
    db = app_resources(request).db
    return json_response(await service.update_user(db, user_id, body, actor_of(request)))


async def list_audit(request: Request) -> Response:
    """Security-relevant actions, newest first, filtered by actor (email), action and time."""
    query = read_query(request, AuditQuery)
    return json_response(await service.list_audit(app_resources(request).db, query))


def page_routes(web_dir: Path) -> list[BaseRoute]:
    """/login and /setup: the dashboard's sign-in and first-admin pages."""

    def page(name: str) -> Route:
        async def serve(request: Request) -> Response:
            return FileResponse(web_dir / f"{name}.html", headers={"Cache-Control": "no-cache"})

        return Route(f"/{name}", serve, methods=["GET"], name=f"{name}_page")

    return [page("login"), page("setup")]


routes: list[BaseRoute] = [
    ApiRoute(
        "/api/auth/login",
        sign_in,
        methods=["POST"],
        summary="Sign in (dashboard): sets the session cookie",
        tag=TAG,
        body=SignIn,
        response=Me,
        errors=(401, 403, 415, 429),
    ),
    ApiRoute("/api/auth/logout", sign_out, methods=["POST"], summary="Sign out: ends the session", tag=TAG, status=204),
    ApiRoute(
        "/api/auth/setup",
        setup,
        methods=["POST"],
        summary="Create the first admin with the setup link's token, and sign in",
        tag=TAG,
        body=SetupRequest,
        response=Me,
        status=201,
        errors=(403, 409, 415),
    ),
    ApiRoute("/api/auth/me", me, methods=["GET"], summary="The signed-in caller", tag=TAG, response=Me),
    ApiRoute(
        "/api/tokens",
        list_tokens,
        methods=["GET"],
        summary="List API tokens: yours, or everyone's for an admin",
        tag=TAG,
        query=AccessQuery,
        response=TokenList,
    ),
    ApiRoute(
        "/api/tokens",
        create_token,
        methods=["POST"],
        summary="Create an API token (shown once)",
        tag=TAG,
        body=TokenCreate,
        response=TokenCreated,
        status=201,
        errors=(415,),
    ),
    ApiRoute(
        "/api/tokens/{id:id}",
        revoke_token,
        methods=["DELETE"],
        summary="Revoke an API token",
        tag=TAG,
        status=204,
        errors=(404,),
    ),
    ApiRoute(
        "/api/users",
        list_users,
        methods=["GET"],
        summary="List users",
        tag=TAG,
        query=AccessQuery,
        response=UserList,
    ),
    ApiRoute(
        "/api/users",
        create_user,
        methods=["POST"],
        summary="Create a user",
        tag=TAG,
        body=UserCreate,
        response=User,
        status=201,
        errors=(409, 415),
    ),
    ApiRoute(
        "/api/users/{id:id}",
        update_user,
        methods=["PUT"],
        summary="Change a user's role, disabled flag or password",
        tag=TAG,
        body=UserUpdate,
        response=User,
        errors=(404, 409, 415),
    ),
    ApiRoute(
        "/api/audit",
        list_audit,
        methods=["GET"],
        summary="The audit log, newest first",
        tag=TAG,
        query=AuditQuery,
        response=AuditList,
    ),
]
