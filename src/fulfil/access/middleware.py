"""The app's outer layers: security headers on every response, the allowed Host names, and who is calling."""

from __future__ import annotations

import ipaddress

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fulfil.access.backend import CallerUnknowable, SessionOrTokenBackend
from fulfil.errors import error_response, unavailable_response
from fulfil.settings import Settings

# Scripts only from our own files (no inline script, no eval), nothing may frame the pages.
# Inline styles stay allowed: Swagger UI and ReDoc set style attributes as they render.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def allowed_hosts(settings: Settings) -> list[str]:
    """ALLOWED_HOSTS when set, else the loopback names plus HOST when it is a name, not an address."""
    configured = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if configured:
        return configured
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    try:
        ipaddress.ip_address(settings.host)
    except ValueError:
        hosts.append(settings.host)
    return hosts


def auth_failed(conn: HTTPConnection, exc: Exception) -> Response:
    """A credential refused is a 401; the database out of reach while checking it is a 503."""
    if isinstance(exc, CallerUnknowable):
        return unavailable_response(conn.scope.get("method", "GET"), conn.url.path, exc.cause)
    return error_response(401, str(exc), "unauthorized", headers={"WWW-Authenticate": "Bearer"})


def access_middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: headers on every answer (a refused Host too), then Host, then the caller."""
    return [
        Middleware(SecurityHeadersMiddleware),
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False),
        Middleware(AuthenticationMiddleware, backend=SessionOrTokenBackend(), on_error=auth_failed),
    ]
