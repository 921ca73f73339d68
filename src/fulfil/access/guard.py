"""The access check every route goes through, after routing and before the endpoint reads a byte.

For each route it looks up the scope the route table (`fulfil.access.table`) names and answers:
- 403 for a route the table does not list (fail closed) or a write from another site: a
  cookie-authenticated POST/PUT/PATCH/DELETE needs the session's `X-CSRF-Token` and an `Origin`
  (or `Referer`) that is this service's own; any other write carrying a foreign `Origin` (a
  sign-in form on someone else's page, say) is refused too. Token callers need no CSRF token:
  a browser never attaches a token by itself.
- 401 (with `WWW-Authenticate: Bearer`) to an anonymous caller of a protected route, 403 to a
  caller whose scopes lack the one needed;
- 415 when a JSON endpoint is sent a body that is not `application/json` (a plain HTML form can
  send `text/plain` or form-encoded bodies to any site, never `application/json`).
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from fulfil.access.backend import Anonymous, caller_of
from fulfil.access.table import PUBLIC, required_scope
from fulfil.api import ApiRoute
from fulfil.errors import error_response

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REFUSED = {
    "token": "The API token sent is unknown, expired or revoked (or its user is disabled).",
    "session": "Your session has ended (signed out, expired, or the user was disabled); sign in again.",
    "authorization": "The Authorization header must be `Bearer fk_…` (an API token).",
}


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def same_origin(request: Request, url: str) -> bool:
    """Whether `url` (an Origin or Referer) has this request's own scheme, host and port."""
    own = _origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}/")
    return own is not None and _origin_of(url) == own


def cross_site_problem(request: Request, public: bool) -> str | None:
    """Why this write must be refused as a possible cross-site request forgery, or None.

    Public routes (sign-in, sign-out, setup) need no CSRF token, which the sign-in page cannot
    have yet, even when the browser still holds a session cookie: only a foreign Origin is refused.
    """
    if request.method not in UNSAFE_METHODS:
        return None
    origin = request.headers.get("origin")
    caller = caller_of(request)
    if public or caller is None or caller.session_id is None:  # only a foreign Origin is refused
        if origin is not None and origin != "null" and not same_origin(request, origin):
            return f"Requests from {origin} are refused: only this site's own pages may send them."
        return None
    sent_from = origin if origin not in (None, "null") else request.headers.get("referer")
    if not sent_from or not same_origin(request, sent_from):
        return "A signed-in write must come from this site's own pages (its Origin or Referer is missing or foreign)."
    expected, sent = caller.csrf_token or "", request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        return "The X-CSRF-Token header is missing or does not match your session (see GET /api/auth/me)."
    return None


def access_problem(request: Request, path: str) -> Response | None:
    """The 401 or 403 this request gets for `path`, or None when it may go on."""
    rule = required_scope(request.method, path)
    if rule is None:
        log.error("%s %s has no entry in the access table, so it is refused", request.method, path)
        return error_response(403, f"{request.method} {path} is not open to anyone (no access rule).", "forbidden")
    problem = cross_site_problem(request, rule == PUBLIC)
    if problem is not None:
        return error_response(403, problem, "csrf")
    if rule == PUBLIC:
        return None
    caller = caller_of(request)
    if caller is None:
        user = request.scope.get("user")
        refused = user.refused if isinstance(user, Anonymous) else None
        message = _REFUSED.get(refused or "", "Sign in, or send an API token as `Authorization: Bearer fk_…`.")
        return error_response(401, message, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    if rule not in request.auth.scopes:
        how = "this token" if caller.token_id is not None else f"the {caller.role} role"
        return error_response(403, f"{request.method} {path} needs the {rule!r} scope, which {how} lacks.", "forbidden")
    return None


def media_type_problem(request: Request, route: Route) -> Response | None:
    """A 415 for a JSON endpoint sent anything but `application/json`."""
    if not isinstance(route, ApiRoute) or route.body is None or request.method not in UNSAFE_METHODS:
        return None
    if route.content_types != ("application/json",):
        return None
    sent = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if sent == "application/json":
        return None
    shown = f"Content-Type {sent!r}" if sent else "no Content-Type"
    return error_response(415, f"This endpoint takes a JSON body (application/json); the request has {shown}.")


class Guard:
    """Wraps one route's ASGI app with the access, CSRF and media-type checks."""

    def __init__(self, route: Route, path: str) -> None:
        self.route, self.path, self.app = route, path, route.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        refusal = access_problem(request, self.path) or media_type_problem(request, self.route)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def protect(routes: list[BaseRoute], prefix: str = "") -> list[BaseRoute]:
    """Put the guard in front of every route (mounts included); the same list, for chaining."""
    for route in routes:
        if isinstance(route, Route) and not isinstance(route.app, Guard):
            route.app = Guard(route, prefix + route.path_format)
        elif isinstance(route, Mount):
            protect(route.routes, prefix + route.path)
    return routes
